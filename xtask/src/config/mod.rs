//! Typed configuration: `budgets.toml` and `profiles/*.toml`.
//!
//! Every type rejects unknown keys, and every error the gate raises about
//! configuration names the file, the dotted key and the line, and says what
//! would be valid. Parse errors come from `toml` with a byte span; semantic
//! errors (a missing cap, a negative cap, an unknown feature) carry the span of
//! the offending value through `toml::Spanned`.
//!
//! `schema.rs` holds the files as written, `validate.rs` the checks that
//! build the view below from them, `error.rs` the located errors.

mod error;
mod schema;
mod validate;

pub use error::{parse_toml, ConfigError};
pub use schema::*;
pub use validate::load_profile;

use crate::tomlspan::Spans;
use error::Locator;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;
use validate::*;

pub use crate::optimize::{WasmOptPosture, LEVELS};
pub use crate::size::SizeKind;
pub use crate::tomlspan::line_of;

/// Per-profile thresholds of one metric, validated.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Caps {
    pub hard: f64,
    pub warn: Option<f64>,
}

/// Where a metric's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Size(SizeKind),
    Scenario(String),
}

/// What a metric's value is: decided once, when the configuration is
/// loaded, from its source, unit and reference build; everything after
/// asks this instead of reading units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Bytes of the shipped module (`size.*`).
    Size,
    /// A time (ms or us) a scenario records.
    Timing,
    /// Bytes of the page's heap a scenario records.
    Heap,
    /// A percentage of a reference build (`reference_without_features`).
    Relative,
}

/// A metric after validation.
#[derive(Debug, Clone)]
pub struct MetricSpec {
    pub id: String,
    pub name: String,
    pub unit: String,
    pub kind: GateKind,
    pub measures: MetricKind,
    /// A heap metric of the linear memory alone (`covers = "wasm-memory"`):
    /// no forced GC, no JS heap figure.
    pub wasm_memory_only: bool,
    pub source: Source,
    /// `size` for size metrics, else the environment name.
    pub environment: String,
    /// Caps per applicable profile.
    pub caps: BTreeMap<String, Caps>,
    pub statistic: crate::stats::Statistic,
    /// Features removed for the reference build of a relative metric.
    pub reference_without: Option<Vec<String>>,
    /// Line of the metric's `source` in budgets.toml (for errors found
    /// after loading, such as a missing scenario module).
    pub source_line: Option<usize>,
    /// A built-in scenario's parameters (`h.params`), validated.
    pub params: Option<serde_json::Value>,
    /// Blocks per seed and arm, when the metric sets its own (timings).
    pub blocks: Option<u32>,
    /// `builtin:tests`: the test target whose module the metric runs in
    /// place of the shipped one (`lib`, or a file under `tests/`).
    pub suite: Option<String>,
}

/// The most blocks a metric may set. Every block keeps at least 100
/// samples (its p95 is then at least its fifth-largest sample), so past
/// `latency_iterations / 100` blocks a seed takes more samples, not fewer
/// per block.
pub const MAX_METRIC_BLOCKS: u32 = 64;

impl MetricSpec {
    /// A relative metric compares against a reference build (percent).
    pub fn is_relative(&self) -> bool {
        self.measures == MetricKind::Relative
    }

    /// A heap metric: a scenario that records bytes.
    pub fn is_heap(&self) -> bool {
        self.measures == MetricKind::Heap
    }
}

/// A profile after validation.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub file: PathBuf,
    pub description: String,
    pub features: Vec<String>,
    pub cargo_profile: String,
    pub rustflags: Vec<String>,
    /// `[cargo.settings]`: cargo profile settings passed with `--config`.
    pub cargo_settings: BTreeMap<String, toml::Value>,
    pub wasm_opt: WasmOptPosture,
    /// Extra environment of the cargo build (calibration's injected
    /// slowdown); empty for profiles read from files.
    pub build_env: Vec<(String, String)>,
}

/// Everything the gate needs from configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub root: PathBuf,
    pub budgets_file: PathBuf,
    pub manifest: PathBuf,
    pub package: String,
    pub scenarios_dir: PathBuf,
    /// `[subject] toolchain`, when set.
    pub toolchain_override: Option<String>,
    /// The toolchain that builds the subject, once resolved (the build
    /// stage does it, with rustup; see `toolchain`).
    pub toolchain: Option<crate::toolchain::Toolchain>,
    pub profiles: Vec<Profile>,
    pub protocol: Protocol,
    pub escalation: Escalation,
    pub comparison: Comparison,
    pub calibration: Option<Calibration>,
    pub environments: BTreeMap<String, Environment>,
    pub metrics: Vec<MetricSpec>,
    /// `[dependencies]`, per profile (absent: no dependency record).
    pub dependencies: Option<BTreeMap<String, crate::closure::Policy>>,
}

impl Config {
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// Every scenario module the selected metrics run must exist. Checked
    /// by the commands that measure (`budget`, `calibrate`), not at load:
    /// `size` needs no scenario.
    pub fn check_scenarios(&self, metrics: &[&MetricSpec]) -> Result<(), ConfigError> {
        for (i, m) in metrics.iter().enumerate() {
            let Source::Scenario(name) = &m.source else {
                continue;
            };
            if crate::builtin::module(name).is_some() {
                continue;
            }
            let path = self.scenarios_dir.join(format!("{name}.js"));
            if !path.is_file() {
                let index = self.metrics.iter().position(|x| x.id == m.id).unwrap_or(i);
                return Err(ConfigError {
                    file: self.budgets_file.clone(),
                    line: m.source_line,
                    key: format!("metric[{index}] ({}).source", m.id),
                    message: format!("scenario module {} does not exist", path.display()),
                    hint: "scenario:<name> where <name>.js is in the subject's scenarios directory"
                        .into(),
                });
            }
        }
        Ok(())
    }
}

/// Read and validate `budgets.toml` and the profiles it names.
///
/// Long by design: the loading steps in order (parse, locate spans, profiles, protocol, metrics), each turning its errors into located ones.
pub fn load(budgets_file: &Path) -> Result<Config, ConfigError> {
    let src = std::fs::read_to_string(budgets_file).map_err(|e| ConfigError {
        file: budgets_file.to_path_buf(),
        line: None,
        key: String::new(),
        message: format!("cannot read: {e}"),
        hint: "a budgets.toml file; see the README".into(),
    })?;
    let raw: BudgetsFile = parse_toml(
        budgets_file,
        &src,
        "top-level keys: schema, [subject], [protocol], [escalation], [comparison], [environment.<name>], [[metric]], [dependencies]",
    )?;
    let loc = Locator {
        file: budgets_file,
        src: &src,
    };
    let spans = Spans::of(&src);
    let at = |key: &str| spans.line(&src, key);
    // Absolute, so paths stay right whatever directory a stage runs in.
    let root = std::path::absolute(budgets_file)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    if raw.schema != 1 {
        return Err(ConfigError {
            file: budgets_file.into(),
            line: at("schema"),
            key: "schema".into(),
            message: format!("unsupported schema {}", raw.schema),
            hint: "schema = 1".into(),
        });
    }

    let manifest = root.join(&raw.subject.manifest);
    let features = subject_features(&manifest).map_err(|m| ConfigError {
        file: budgets_file.into(),
        line: at("subject.manifest"),
        key: "subject.manifest".into(),
        message: m,
        hint: "path to the subject crate's Cargo.toml, relative to budgets.toml".into(),
    })?;

    let profiles = load_profiles(&loc, &raw.subject, &root, &features)?;

    check_protocol_and_escalation(&raw, &at, budgets_file)?;

    let mut metrics = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, m) in raw.metric.iter().enumerate() {
        if !seen.insert(m.get_ref().id.clone()) {
            let id = &m.get_ref().id;
            return Err(loc.err(
                m.span(),
                format!("metric[{i}] ({id}).id"),
                format!("duplicate metric id {id}"),
                "unique ids",
            ));
        }
        metrics.push(metric_spec(&loc, i, m, &raw, &profiles)?);
    }

    let dependencies = dependency_policies(&loc, raw.dependencies.as_ref(), &profiles)?;
    Ok(Config {
        dependencies,
        root: root.clone(),
        budgets_file: budgets_file.to_path_buf(),
        manifest,
        package: raw.subject.package,
        scenarios_dir: root.join(&raw.subject.scenarios),
        toolchain_override: raw.subject.toolchain,
        toolchain: None,
        profiles,
        protocol: raw.protocol,
        escalation: raw.escalation,
        comparison: raw.comparison,
        calibration: raw.calibration,
        environments: raw.environment,
        metrics,
    })
}

#[cfg(test)]
mod tests {
    use super::error::key_at;
    use super::*;

    #[test]
    fn line_of_counts_newlines() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 4), 3);
    }

    #[test]
    fn key_at_names_table_and_key() {
        let src = "[protocol]\nseeds = [1]\nbogus = 3\n";
        let off = src.find("bogus").unwrap();
        assert_eq!(key_at(src, &(off..off + 5)), "protocol.bogus");
    }
}
