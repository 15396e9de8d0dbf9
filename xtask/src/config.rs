//! Typed configuration: `budgets.toml` and `profiles/*.toml`.
//!
//! Every type rejects unknown keys, and every error the gate raises about
//! configuration names the file, the dotted key and the line, and says what
//! would be valid. Parse errors come from `toml` with a byte span; semantic
//! errors (a missing cap, a negative cap, an unknown feature) carry the span of
//! the offending value through `toml::Spanned`.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// A configuration error, already located: file, line, key.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line, when the error can be located in the file.
    pub line: Option<usize>,
    /// Dotted key (for example `metric[3].hard.core-min`).
    pub key: String,
    pub message: String,
    /// What would be valid instead.
    pub hint: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": key `{}`: {}", self.key, self.message)?;
        if !self.hint.is_empty() {
            write!(f, "\n  valid: {}", self.hint)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

pub use crate::tomlspan::line_of;
pub use crate::optimize::{WasmOptPosture, LEVELS};
pub use crate::size::SizeKind;
use crate::tomlspan::Spans;

/// Best effort at naming the dotted key a parse error points at: the nearest
/// table header above the line, plus the key on the line itself.
fn key_at(src: &str, span: &Range<usize>) -> String {
    let line_no = line_of(src, span.start);
    let lines: Vec<&str> = src.lines().collect();
    let here = lines.get(line_no - 1).copied().unwrap_or("").trim();
    let own = here
        .split_once('=')
        .map(|(k, _)| k.trim().to_string())
        .unwrap_or_default();
    let mut header = String::new();
    for l in lines[..line_no.saturating_sub(1).min(lines.len())].iter().rev() {
        let t = l.trim();
        if t.starts_with('[') {
            header = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            break;
        }
    }
    if here.starts_with('[') {
        return here.trim_matches(|c| c == '[' || c == ']').trim().to_string();
    }
    match (header.is_empty(), own.is_empty()) {
        (true, _) => own,
        (false, true) => header,
        (false, false) => format!("{header}.{own}"),
    }
}

fn from_toml_error(file: &Path, src: &str, err: toml::de::Error, hint: &str) -> ConfigError {
    let span = err.span();
    ConfigError {
        file: file.to_path_buf(),
        line: span.as_ref().map(|s| line_of(src, s.start)),
        key: span.as_ref().map(|s| key_at(src, s)).unwrap_or_default(),
        message: err.message().trim().to_string(),
        hint: hint.to_string(),
    }
}

/// Parse a TOML document into `T`, turning errors into located `ConfigError`s.
pub fn parse_toml<T: for<'de> Deserialize<'de>>(
    file: &Path,
    src: &str,
    hint: &str,
) -> Result<T, ConfigError> {
    let v: T = toml::from_str(src).map_err(|e| from_toml_error(file, src, e, hint))?;
    // TOML accepts nan and inf; no budget, protocol figure or throttle can
    // mean one, and a nan compares false with everything (a check it feeds
    // silently never fires).
    if let Some((key, span)) = Spans::of(src).nonfinite().first() {
        return Err(ConfigError {
            file: file.to_path_buf(),
            line: Some(line_of(src, span.start)),
            key: key.clone(),
            message: format!("`{}` is not a finite number", src.get(span.clone()).unwrap_or("nan").trim()),
            hint: "every number in this file must be finite".into(),
        });
    }
    Ok(v)
}

// ---------------------------------------------------------------- budgets.toml

/// The whole of `budgets.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetsFile {
    pub schema: u32,
    pub subject: Subject,
    pub protocol: Protocol,
    pub escalation: Escalation,
    /// Live base/candidate comparison of timings (README, "Measurement protocol").
    #[serde(default)]
    pub comparison: Comparison,
    /// How `cargo xtask calibrate` injects a known slowdown.
    #[serde(default)]
    pub calibration: Option<Calibration>,
    pub environment: BTreeMap<String, Environment>,
    pub metric: Vec<Spanned<Metric>>,
    /// The wasm dependency closure's policy (`crate::closure`).
    #[serde(default)]
    pub dependencies: Option<Dependencies>,
}

/// `[dependencies]`: crates the wasm build must not resolve, and exemptions.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependencies {
    /// The record's metric id (default `M-DEPS-01`).
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub forbidden: Vec<Spanned<String>>,
    #[serde(default)]
    pub allow: Vec<crate::closure::Allow>,
    /// Per profile: entries added to the table's own.
    #[serde(default)]
    pub profile: BTreeMap<Spanned<String>, DependencyOverride>,
}

/// `[dependencies.profile.<name>]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DependencyOverride {
    #[serde(default)]
    pub forbidden: Vec<Spanned<String>>,
    #[serde(default)]
    pub allow: Vec<crate::closure::Allow>,
}

/// The crate under guard.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// Path of the subject's `Cargo.toml`, relative to `budgets.toml`.
    pub manifest: String,
    /// Cargo package name.
    pub package: String,
    /// Directory of profile files, relative to `budgets.toml`.
    pub profiles_dir: String,
    /// Profiles to gate, in report order.
    pub profiles: Spanned<Vec<String>>,
    /// Directory holding the subject's scenario ES modules.
    pub scenarios: String,
    /// The rustup toolchain that builds the subject. Default: the one
    /// rustup resolves in the subject's directory (its
    /// `rust-toolchain.toml`), never the gate's own.
    #[serde(default)]
    pub toolchain: Option<String>,
}

/// Measurement protocol (README, "Measurement protocol").
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    pub seeds: Vec<u64>,
    /// Iterations per seed for latency scenarios (at least 2000 when gating).
    pub latency_iterations: u32,
    /// Heap: warmup operations before sampling.
    pub heap_warmup: u32,
    /// Heap: samples taken after warmup.
    pub heap_samples: u32,
    /// Micro-scale scenarios time this many operations per recorded sample.
    pub batch: u32,
    /// Iterations per seed under `--quick` (reports marked not gating).
    pub quick_iterations: u32,
    /// Upper bound on one scenario run for one seed, in seconds.
    pub scenario_timeout_s: u64,
    /// Latency samples of a seed are taken in this many blocks per arm, the
    /// unit of repetition of the comparison statistics (`stats.rs`).
    #[serde(default = "default_blocks")]
    pub blocks: u32,
    /// A per-seed figure below this many ticks of the page's clock (per
    /// operation, for batched samples) is unresolved: missing data, a fail.
    #[serde(default = "default_clock_floor_ticks")]
    pub clock_floor_ticks: f64,
}

fn default_blocks() -> u32 {
    4
}

fn default_clock_floor_ticks() -> f64 {
    10.0
}

/// `cargo xtask calibrate`: the subject opts in with a cargo feature that
/// adds busy work of `env` microseconds (read at build time) to the code
/// `metric` times.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// Cargo feature that enables the injected busy work.
    pub feature: String,
    /// Build-time environment variable with the size of the busy work.
    pub env: String,
    /// Units of that variable per microsecond of busy work (1 when it is
    /// in microseconds; the runtime's mixing steps run about 400 per us in
    /// V8's baseline tier, where cold init runs).
    #[serde(default = "one")]
    pub steps_per_us: f64,
    /// The metric whose A/A value sizes the injection (a percentage of it).
    pub metric: String,
}

fn one() -> f64 {
    1.0
}

/// How timings are compared with their base (`--against REF`, or the blessed
/// baseline's artifacts).
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Comparison {
    /// Seconds the gate may spend adding blocks to comparisons (and bands)
    /// that are still inconclusive after the protocol's blocks.
    #[serde(default = "default_extend_budget_s")]
    pub extend_budget_s: u64,
    /// Relative (`%`) metrics: a rise of more than this many percentage
    /// points over the base is a regression (a relative limit means nothing
    /// near zero).
    #[serde(default = "default_regression_pp")]
    pub regression_pp: f64,
}

impl Default for Comparison {
    fn default() -> Comparison {
        Comparison { extend_budget_s: default_extend_budget_s(), regression_pp: default_regression_pp() }
    }
}

fn default_extend_budget_s() -> u64 {
    120
}

fn default_regression_pp() -> f64 {
    3.0
}

/// Escalation and baseline settings (README, "Measurement protocol").
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    /// Consecutive runs in the warn band that make a fail.
    pub consecutive_warns_to_fail: u32,
    /// Runs the ledger keeps per key.
    pub ledger_window: usize,
    /// A metric worse than the baseline by more than this percentage fails.
    pub baseline_regression_pct: f64,
}

/// A measurement environment (desktop, mobile, ...).
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Target CPU slowdown (1 = none). Above 1 the gate calibrates the CDP
    /// throttling rate until a reference workload slows by this factor.
    pub cpu_throttle: f64,
    /// Extra V8 flags for this environment's browser (for example
    /// `--no-wasm-lazy-compilation` for an eager-compilation figure).
    #[serde(default)]
    pub js_flags: Vec<String>,
    /// The engine that measures this environment.
    #[serde(default)]
    pub browser: BrowserKind,
}

/// The browser an environment is measured in.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BrowserKind {
    /// Headless Chromium over CDP (`browser/chromium.rs`).
    #[default]
    Chromium,
    /// Headless Firefox over WebDriver BiDi (`browser/firefox.rs`).
    Firefox,
}

impl BrowserKind {
    pub fn name(self) -> &'static str {
        match self {
            BrowserKind::Chromium => "chromium",
            BrowserKind::Firefox => "firefox",
        }
    }
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GateKind {
    /// A breach fails at once; a warn band, if any, is advisory.
    Hard,
    /// Warn band escalates to fail on the second consecutive run.
    WarnThenBlock,
}

/// One budget metric.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    pub id: String,
    pub name: String,
    /// Unit of caps and reported values: bytes, KiB, MiB, ms, us, %.
    pub unit: Spanned<String>,
    pub kind: GateKind,
    /// `size.raw`, `size.gzip`, `size.brotli`, `size.stripped` or
    /// `scenario:<name>` (an ES module `<name>.js` in the scenarios dir).
    pub source: Spanned<String>,
    /// Environment the metric is measured in (scenario metrics only).
    #[serde(default)]
    pub environment: Option<Spanned<String>>,
    /// Profiles this metric applies to; all subject profiles when absent.
    #[serde(default)]
    pub profiles: Option<Spanned<Vec<String>>>,
    /// Hard caps per profile.
    pub hard: Spanned<BTreeMap<String, Spanned<toml::Value>>>,
    /// Warn thresholds per profile (advisory for hard metrics).
    #[serde(default)]
    pub warn: Option<Spanned<BTreeMap<String, Spanned<toml::Value>>>>,
    /// Per-seed statistic: `p95` (default) or `median`.
    #[serde(default)]
    pub statistic: crate::stats::Statistic,
    /// A relative metric (unit `%`): the scenario also runs on a reference
    /// build of the same profile without these features, and the value is
    /// the candidate's statistic over the reference's, minus 1, in percent.
    #[serde(default)]
    pub reference_without_features: Option<Spanned<Vec<String>>>,
    /// Built-in scenarios (`builtin:<kind>`): the call that is measured.
    #[serde(default)]
    pub call: Option<Spanned<crate::builtin::CallSpec>>,
    /// Built-in scenarios: an untimed call whose result (a handle) the
    /// measured call and the teardown get.
    #[serde(default)]
    pub setup: Option<Spanned<crate::builtin::CallSpec>>,
    /// Built-in scenarios: an untimed call after the samples.
    #[serde(default)]
    pub teardown: Option<Spanned<crate::builtin::CallSpec>>,
    /// Built-in scenarios on raw-export crates: a provider per imported
    /// function (`"env.now_ms" = "now"`); the others return 0.
    #[serde(default)]
    pub imports: Option<Spanned<BTreeMap<String, String>>>,
}

// ---------------------------------------------------------------- profiles

/// A `profiles/<name>.toml` file.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    pub description: String,
    pub cargo: CargoPosture,
    pub wasm_opt: WasmOptPosture,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct CargoPosture {
    /// Cargo features of the subject to enable.
    #[serde(default)]
    pub features: Option<Spanned<Vec<String>>>,
    /// Cargo profile (`[profile.<name>]` in the workspace manifest).
    pub profile: String,
    /// Extra rustflags for this profile, added to the subject's own
    /// configured rustflags (its `.cargo/config.toml`).
    #[serde(default)]
    pub rustflags: Vec<String>,
    /// Cargo profile settings the gate passes as
    /// `--config profile.<profile>.<key>=<value>`, so the subject's
    /// manifest needs no `[profile.<profile>]` of its own.
    #[serde(default)]
    pub settings: Option<Spanned<BTreeMap<String, toml::Value>>>,
}

/// The cargo profile keys a profile file may set under `[cargo.settings]`.
pub const CARGO_SETTINGS: &[&str] =
    &["inherits", "opt-level", "debug", "strip", "debug-assertions", "overflow-checks", "lto", "panic", "incremental", "codegen-units"];

pub const UNITS: &[&str] = &["bytes", "KiB", "MiB", "ms", "us", "%"];
/// Units of a scenario metric that make it a heap probe (`Quantity::for_unit`).
const HEAP_UNITS: &[&str] = &["bytes", "KiB", "MiB"];
pub const SIZE_SOURCES: &[&str] = &["size.raw", "size.gzip", "size.brotli", "size.stripped"];

// ---------------------------------------------------------------- validated view

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

/// A metric after validation.
#[derive(Debug, Clone)]
pub struct MetricSpec {
    pub id: String,
    pub name: String,
    pub unit: String,
    pub kind: GateKind,
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
}

impl MetricSpec {
    /// A relative metric compares against a reference build (percent).
    pub fn is_relative(&self) -> bool {
        self.reference_without.is_some()
    }

    /// A heap metric: a scenario that records bytes (the one definition;
    /// measuring, method texts and config checks all ask this).
    pub fn is_heap(&self) -> bool {
        matches!(self.source, Source::Scenario(_)) && HEAP_UNITS.contains(&self.unit.as_str())
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
            let Source::Scenario(name) = &m.source else { continue };
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
                    hint: "scenario:<name> where <name>.js is in the subject's scenarios directory".into(),
                });
            }
        }
        Ok(())
    }
}

struct Locator<'a> {
    file: &'a Path,
    src: &'a str,
}

impl Locator<'_> {
    fn err(&self, span: Range<usize>, key: String, message: String, hint: &str) -> ConfigError {
        ConfigError {
            file: self.file.to_path_buf(),
            line: Some(line_of(self.src, span.start)),
            key,
            message,
            hint: hint.to_string(),
        }
    }
}

fn cap_value(loc: &Locator, key: String, v: &Spanned<toml::Value>) -> Result<f64, ConfigError> {
    let n = match v.get_ref() {
        toml::Value::Integer(i) => *i as f64,
        toml::Value::Float(f) => *f,
        other => {
            return Err(loc.err(
                v.span(),
                key,
                format!("cap must be a number, found {}", other.type_str()),
                "a non-negative number in the metric's unit, e.g. 650 or 2.5",
            ))
        }
    };
    if !n.is_finite() || n < 0.0 {
        return Err(loc.err(
            v.span(),
            key,
            format!("cap must be a non-negative finite number, found {n}"),
            "a non-negative number in the metric's unit, e.g. 650 or 2.5",
        ));
    }
    Ok(n)
}

/// Read and validate `budgets.toml` and the profiles it names.
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
    let loc = Locator { file: budgets_file, src: &src };
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
            return Err(loc.err(m.span(), format!("metric[{i}] ({id}).id"), format!("duplicate metric id {id}"), "unique ids"));
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

/// `[dependencies]` as one policy per profile: the table's entries plus the
/// profile's own. Rules and profile names are checked here.
fn dependency_policies(loc: &Locator, d: Option<&Dependencies>, profiles: &[Profile]) -> Result<Option<BTreeMap<String, crate::closure::Policy>>, ConfigError> {
    let Some(d) = d else { return Ok(None) };
    let hint = "a crate name, or name@REQ with a semver requirement: \"libc\", \"nix@<0.27\"";
    let rules = |list: &[Spanned<String>], key: &str| -> Result<Vec<crate::closure::Rule>, ConfigError> {
        list.iter().map(|r| crate::closure::Rule::parse(r.get_ref()).map_err(|m| loc.err(r.span(), key.to_string(), m, hint))).collect()
    };
    let base = rules(&d.forbidden, "dependencies.forbidden")?;
    for name in d.profile.keys() {
        if !profiles.iter().any(|p| &p.name == name.get_ref()) {
            let known: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
            return Err(loc.err(name.span(), format!("dependencies.profile.{}", name.get_ref()), format!("no profile `{}` in [subject] profiles", name.get_ref()), &format!("one of: {}", known.join(", "))));
        }
    }
    let mut out = BTreeMap::new();
    for p in profiles {
        let own = d.profile.iter().find(|(k, _)| k.get_ref() == &p.name).map(|(_, v)| v);
        let mut policy = crate::closure::Policy { id: d.id.clone().unwrap_or_else(|| crate::closure::DEFAULT_ID.into()), forbidden: base.clone(), allow: d.allow.clone() };
        if let Some(o) = own {
            policy.forbidden.extend(rules(&o.forbidden, &format!("dependencies.profile.{}.forbidden", p.name))?);
            policy.allow.extend(o.allow.iter().cloned());
        }
        out.insert(p.name.clone(), policy);
    }
    Ok(Some(out))
}

/// Every profile `[subject] profiles` names, from its file.
fn load_profiles(loc: &Locator, subject: &Subject, root: &Path, features: &[String]) -> Result<Vec<Profile>, ConfigError> {
    let mut profiles = Vec::new();
    for name in subject.profiles.get_ref() {
        let file = root.join(&subject.profiles_dir).join(format!("{name}.toml"));
        if !file.is_file() {
            return Err(loc.err(
                subject.profiles.span(),
                "subject.profiles".into(),
                format!("profile `{name}` has no file {}", file.display()),
                "names of files in the profiles directory, without .toml",
            ));
        }
        profiles.push(load_profile(&file, name, features)?);
    }
    Ok(profiles)
}

/// The numbers of `[protocol]`, `[escalation]`, `[comparison]` and the
/// environments: in range, finite, and sane together.
fn check_protocol_and_escalation(raw: &BudgetsFile, at: &dyn Fn(&str) -> Option<usize>, budgets_file: &Path) -> Result<(), ConfigError> {
    let p = &raw.protocol;
    let err_at = |key: &str, m: String, h: &str| ConfigError { file: budgets_file.into(), line: at(key), key: key.into(), message: m, hint: h.into() };
    let proto_err = |k: &str, m: &str, h: &str| err_at(&format!("protocol.{k}"), m.into(), h);
    if p.seeds.is_empty() {
        return Err(proto_err("seeds", "no seeds", "seeds = [11, 29, 42, 73, 101]"));
    }
    if let Some((i, seed)) = p.seeds.iter().enumerate().find(|(i, s)| p.seeds[..*i].contains(s)) {
        // A repeated seed is the same run counted twice: it shrinks the
        // evidence while the report claims five seeds.
        return Err(err_at(&format!("protocol.seeds[{i}]"), format!("seed {seed} appears more than once"), "distinct seeds, e.g. seeds = [11, 29, 42, 73, 101]"));
    }
    if p.latency_iterations < 2000 {
        return Err(proto_err(
            "latency_iterations",
            "fewer than 2000 iterations per seed cannot gate (README, 'Measurement protocol')",
            "latency_iterations >= 2000; use --quick for short local runs",
        ));
    }
    if p.batch == 0 || p.quick_iterations == 0 || p.heap_samples == 0 || p.scenario_timeout_s == 0 {
        return Err(proto_err("batch", "batch, quick_iterations, heap_samples and scenario_timeout_s must be positive", "positive integers"));
    }
    if p.blocks == 0 || p.blocks > p.latency_iterations / 100 {
        return Err(proto_err("blocks", "blocks must be at least 1 and leave at least 100 samples per block", "blocks = 4"));
    }
    if !(p.clock_floor_ticks >= 1.0) {
        return Err(proto_err("clock_floor_ticks", "the clock floor must be at least one tick", "clock_floor_ticks = 10"));
    }
    if !(raw.comparison.regression_pp >= 0.0) {
        return Err(err_at("comparison.regression_pp", format!("{} is not a non-negative number of percentage points", raw.comparison.regression_pp), "regression_pp = 3.0"));
    }
    let esc = &raw.escalation;
    if esc.ledger_window < 8 {
        return Err(err_at(
            "escalation.ledger_window",
            format!("a ledger window of {} runs is too short to show a trend or hold a warn streak", esc.ledger_window),
            "ledger_window = 8 or more",
        ));
    }
    if esc.consecutive_warns_to_fail < 1 || esc.consecutive_warns_to_fail as usize > esc.ledger_window {
        return Err(err_at(
            "escalation.consecutive_warns_to_fail",
            format!("{} consecutive warns cannot be counted in a window of {} runs", esc.consecutive_warns_to_fail, esc.ledger_window),
            "at least 1 and at most ledger_window, e.g. consecutive_warns_to_fail = 2",
        ));
    }
    if !(esc.baseline_regression_pct >= 0.0) {
        return Err(err_at("escalation.baseline_regression_pct", format!("{} is not a non-negative percentage", esc.baseline_regression_pct), "baseline_regression_pct = 10.0"));
    }
    for (name, env) in &raw.environment {
        if !(env.cpu_throttle >= 1.0) {
            return Err(err_at(&format!("environment.{name}.cpu_throttle"), format!("throttle {} is below 1", env.cpu_throttle), "1 for none, 4 for a mid-tier phone"));
        }
        if env.browser == BrowserKind::Firefox {
            // CPU throttling is a CDP command and js_flags are V8's: Firefox
            // has neither, and silently ignoring them would measure an
            // environment other than the one named.
            if env.cpu_throttle != 1.0 {
                return Err(err_at(
                    &format!("environment.{name}.cpu_throttle"),
                    format!("Firefox cannot be CPU-throttled (throttling is a Chromium DevTools command), but cpu_throttle is {}", env.cpu_throttle),
                    "cpu_throttle = 1.0 for a Firefox environment; measure the throttled phone proxy in Chromium",
                ));
            }
            if !env.js_flags.is_empty() {
                return Err(err_at(
                    &format!("environment.{name}.js_flags"),
                    "js_flags are V8 flags, which Firefox does not take".into(),
                    "remove js_flags from the Firefox environment",
                ));
            }
        }
    }

    Ok(())
}

/// One `[[metric]]`, validated against the profiles and environments.
fn metric_spec(loc: &Locator, i: usize, m: &Spanned<Metric>, raw: &BudgetsFile, profiles: &[Profile]) -> Result<MetricSpec, ConfigError> {
    let profile_names: Vec<String> = profiles.iter().map(|p| p.name.clone()).collect();
    let m_span = m.span();
    let m = m.get_ref();
    let key = |k: &str| format!("metric[{i}] ({}).{k}", m.id);
    if !UNITS.contains(&m.unit.get_ref().as_str()) {
        return Err(loc.err(
            m.unit.span(),
            key("unit"),
            format!("unknown unit `{}`", m.unit.get_ref()),
            &UNITS.join(", "),
        ));
    }
    let src_str = m.source.get_ref().as_str();
    let source = match src_str {
        "size.raw" => Source::Size(SizeKind::Raw),
        "size.gzip" => Source::Size(SizeKind::Gzip),
        "size.brotli" => Source::Size(SizeKind::Brotli),
        "size.stripped" => Source::Size(SizeKind::Stripped),
        s if s.starts_with("scenario:") && s.len() > 9 => Source::Scenario(s[9..].to_string()),
        s if s.starts_with(crate::builtin::PREFIX) => Source::Scenario(s.to_string()),
        _ => {
            return Err(loc.err(
                m.source.span(),
                key("source"),
                format!("unknown source `{src_str}`"),
                &format!("{}, scenario:<name> or builtin:<kind> ({})", SIZE_SOURCES.join(", "), crate::builtin::KINDS.join(", ")),
            ))
        }
    };
    let params = builtin_params(loc, &key, m)?;
    let environment = match (&source, &m.environment) {
        (Source::Size(_), None) => "size".to_string(),
        (Source::Size(_), Some(e)) => {
            return Err(loc.err(e.span(), key("environment"), "size metrics take no environment".into(), "remove the key"))
        }
        (Source::Scenario(_), None) => {
            return Err(loc.err(m_span, key("environment"), "scenario metric without an environment".into(), &env_names(&raw.environment)))
        }
        (Source::Scenario(_), Some(e)) => {
            if !raw.environment.contains_key(e.get_ref()) {
                return Err(loc.err(
                    e.span(),
                    key("environment"),
                    format!("unknown environment `{}`", e.get_ref()),
                    &env_names(&raw.environment),
                ));
            }
            if raw.environment[e.get_ref()].browser == BrowserKind::Firefox && HEAP_UNITS.contains(&m.unit.get_ref().as_str()) {
                // Heap is Chromium-only: Firefox gives a page no gc() and no
                // precise memory figure (performance.memory, nor
                // measureUserAgentSpecificMemory), so a heap figure there
                // would be noise or 0.
                return Err(loc.err(
                    e.span(),
                    key("environment"),
                    format!("heap metrics are measured in Chromium only; `{}` is a Firefox environment, which gives a page no gc() and no precise memory figure", e.get_ref()),
                    "map heap metrics to a Chromium environment (browser = \"chromium\", the default)",
                ));
            }
            e.get_ref().clone()
        }
    };
    let applies: Vec<String> = match &m.profiles {
        Some(ps) => {
            for p in ps.get_ref() {
                if !profile_names.contains(p) {
                    return Err(loc.err(ps.span(), key("profiles"), format!("unknown profile `{p}`"), &profile_names.join(", ")));
                }
            }
            ps.get_ref().clone()
        }
        None => profile_names.clone(),
    };
    for k in m.hard.get_ref().keys() {
        if !applies.contains(k) {
            let v = &m.hard.get_ref()[k];
            return Err(loc.err(v.span(), key(&format!("hard.{k}")), format!("cap for profile `{k}`, which this metric does not apply to"), &applies.join(", ")));
        }
    }
    let mut caps = BTreeMap::new();
    for prof in &applies {
        let hard = match m.hard.get_ref().get(prof) {
            Some(v) => cap_value(loc, key(&format!("hard.{prof}")), v)?,
            None => {
                return Err(loc.err(
                    m.hard.span(),
                    key(&format!("hard.{prof}")),
                    format!("no hard cap for profile `{prof}`"),
                    &format!("a cap for each of: {}", applies.join(", ")),
                ))
            }
        };
        let warn = match &m.warn {
            None => None,
            Some(w) => match w.get_ref().get(prof) {
                Some(v) => {
                    let wv = cap_value(loc, key(&format!("warn.{prof}")), v)?;
                    if wv > hard {
                        return Err(loc.err(v.span(), key(&format!("warn.{prof}")), format!("warn {wv} is above the hard cap {hard}"), "warn <= hard"));
                    }
                    Some(wv)
                }
                None if m.kind == GateKind::WarnThenBlock => {
                    return Err(loc.err(w.span(), key(&format!("warn.{prof}")), format!("no warn threshold for profile `{prof}`"), &applies.join(", ")))
                }
                None => None,
            },
        };
        if m.kind == GateKind::WarnThenBlock && warn.is_none() {
            return Err(loc.err(m_span.clone(), key("warn"), "a warn-then-block metric needs warn thresholds".into(), "[metric.warn] with one value per profile"));
        }
        caps.insert(prof.clone(), Caps { hard, warn });
    }
    let reference_without = match &m.reference_without_features {
        None => None,
        Some(fs) => {
            if m.unit.get_ref() != "%" || !matches!(source, Source::Scenario(_)) {
                return Err(loc.err(
                    fs.span(),
                    key("reference_without_features"),
                    "a reference build makes a relative scenario metric; its unit must be `%`".into(),
                    "unit = \"%\" and source = \"scenario:<name>\", or drop the key",
                ));
            }
            for prof in &applies {
                let p = profiles.iter().find(|p| &p.name == prof).expect("validated above");
                if let Some(f) = fs.get_ref().iter().find(|f| !p.features.contains(f)) {
                    return Err(loc.err(
                        fs.span(),
                        key("reference_without_features"),
                        format!("profile `{prof}` has no feature `{f}` to remove"),
                        &format!("features of `{prof}`: {}", p.features.join(", ")),
                    ));
                }
            }
            Some(fs.get_ref().clone())
        }
    };
    Ok(MetricSpec {
        id: m.id.clone(),
        name: m.name.clone(),
        unit: m.unit.get_ref().clone(),
        kind: m.kind,
        source,
        environment,
        caps,
        statistic: m.statistic,
        reference_without,
        source_line: Some(line_of(loc.src, m.source.span().start)),
        params,
    })
}

/// A built-in metric's parameters, validated (`builtin.rs`); a metric of
/// another source must not carry the built-in keys.
fn builtin_params(loc: &Locator, key: &dyn Fn(&str) -> String, m: &Metric) -> Result<Option<serde_json::Value>, ConfigError> {
    let keys = crate::builtin::Keys { call: m.call.as_ref(), setup: m.setup.as_ref(), teardown: m.teardown.as_ref(), imports: m.imports.as_ref() };
    let Some(kind) = m.source.get_ref().strip_prefix(crate::builtin::PREFIX) else {
        let spans = [("call", keys.call.map(|c| c.span())), ("setup", keys.setup.map(|c| c.span())), ("teardown", keys.teardown.map(|c| c.span())), ("imports", keys.imports.map(|c| c.span()))];
        if let Some((k, Some(span))) = spans.into_iter().find(|(_, s)| s.is_some()) {
            return Err(loc.err(span, key(k), format!("`{k}` belongs to built-in scenarios, but the source is `{}`", m.source.get_ref()), "source = \"builtin:call\" (or cold-init, heap), or drop the key"));
        }
        return Ok(None);
    };
    crate::builtin::params(kind, m.unit.get_ref(), m.source.span(), &keys).map(Some).map_err(|p| loc.err(p.span, key(&p.key), p.message, &p.hint))
}

fn env_names(envs: &BTreeMap<String, Environment>) -> String {
    envs.keys().cloned().collect::<Vec<_>>().join(", ")
}

/// The `[features]` a subject manifest declares.
fn subject_features(manifest: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| format!("cannot read subject manifest {}: {e}", manifest.display()))?;
    let v: toml::Value =
        toml::from_str(&text).map_err(|e| format!("{}: {}", manifest.display(), e.message()))?;
    let mut out: Vec<String> = v
        .get("features")
        .and_then(|f| f.as_table())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    // Optional dependencies are features too.
    if let Some(deps) = v.get("dependencies").and_then(|d| d.as_table()) {
        for (k, d) in deps {
            if d.get("optional").and_then(|o| o.as_bool()) == Some(true) {
                out.push(k.clone());
            }
        }
    }
    Ok(out)
}

/// Read one profile file and check it against the subject's features.
pub fn load_profile(file: &Path, name: &str, features: &[String]) -> Result<Profile, ConfigError> {
    let src = std::fs::read_to_string(file).map_err(|e| ConfigError {
        file: file.into(),
        line: None,
        key: String::new(),
        message: format!("cannot read: {e}"),
        hint: String::new(),
    })?;
    let raw: ProfileFile = parse_toml(
        file,
        &src,
        "keys: description, [cargo] features/profile/rustflags/settings, [wasm_opt] enabled/level/strip_debug/strip_dwarf/strip_producers/passes",
    )?;
    let loc = Locator { file, src: &src };
    let empty = Vec::new();
    let feats = raw.cargo.features.as_ref().map(|f| f.get_ref()).unwrap_or(&empty);
    for f in feats {
        if !features.contains(f) {
            return Err(loc.err(
                raw.cargo.features.as_ref().map(|f| f.span()).unwrap_or(0..0),
                "cargo.features".into(),
                format!("the subject has no feature `{f}`"),
                &format!("one of: {}", if features.is_empty() { "(none declared)".into() } else { features.join(", ") }),
            ));
        }
    }
    let settings = raw.cargo.settings.as_ref().map(|s| s.get_ref().clone()).unwrap_or_default();
    for (k, v) in &settings {
        let span = raw.cargo.settings.as_ref().map(|s| s.span()).unwrap_or(0..0);
        if !CARGO_SETTINGS.contains(&k.as_str()) {
            return Err(loc.err(span, format!("cargo.settings.{k}"), format!("`{k}` is not a cargo profile setting the gate passes"), &CARGO_SETTINGS.join(", ")));
        }
        if k == "strip" && crate::cargoconf::strips_symbols(v) {
            return Err(loc.err(
                span,
                "cargo.settings.strip".into(),
                "strip = \"symbols\" removes the names attribution needs".into(),
                "strip = \"debuginfo\" or \"none\"; the shipped file is stripped by [wasm_opt] strip_debug / strip_producers",
            ));
        }
    }
    if !LEVELS.contains(&raw.wasm_opt.level.as_str()) {
        let line = Spans::of(&src).line(&src, "wasm_opt.level");
        return Err(ConfigError {
            file: file.into(),
            line,
            key: "wasm_opt.level".into(),
            message: format!("unknown level `{}`", raw.wasm_opt.level),
            hint: LEVELS.join(", "),
        });
    }
    for (i, pass) in raw.wasm_opt.passes.iter().enumerate() {
        if crate::optimize::pass_by_name(pass).is_none() {
            let line = Spans::of(&src).line(&src, &format!("wasm_opt.passes[{i}]"));
            return Err(ConfigError {
                file: file.into(),
                line,
                key: "wasm_opt.passes".into(),
                message: format!("unknown binaryen pass `{pass}`"),
                hint: "a binaryen pass name such as vacuum, dce, strip-debug (see wasm-opt --help)".into(),
            });
        }
    }
    Ok(Profile {
        name: name.into(),
        file: file.into(),
        description: raw.description,
        features: raw.cargo.features.map(|f| f.into_inner()).unwrap_or_default(),
        cargo_profile: raw.cargo.profile,
        rustflags: raw.cargo.rustflags,
        cargo_settings: settings,
        wasm_opt: raw.wasm_opt,
        build_env: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
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
