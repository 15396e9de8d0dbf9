//! What a measured figure is a function of: one key's identity is a hash of
//! everything that can change its figure. Two arms with one identity
//! measure the same thing (a pull request that leaves the wasm alone), so
//! the gate does not run the base beside the candidate; a figure whose
//! identity the store already holds is taken from it (`reuse.rs`).
//!
//! The parts, each hashed under its own label so no two can alias:
//! - the gate's own measuring code (harness page, built-ins, drivers,
//!   schedule, reduction, statistics: `XTASK_MEASURE_VERSION`, a hash of
//!   those sources made by `build.rs`);
//! - the metric as measured (id, unit, scenario, statistic, reference
//!   build, built-in parameters, environment name), not its caps: a cap
//!   moves the verdict, never the figure;
//! - the protocol, the comparison settings (extension blocks) and the
//!   sample counts of the run (`--quick` takes fewer);
//! - the environment's settings (browser, throttle target, engine flags);
//! - the browser's product and version, as its binary reports them;
//! - the host's hardware (CPU model and count): a figure measured on other
//!   hardware is not this hardware's figure;
//! - the bytes of every module the arm runs (shipped wasm, glue, and for a
//!   relative metric its reference build), and of the subject's scenario
//!   files when the metric runs one of them.

use super::Task;
use crate::artifacts::Runnable;
use crate::config::{Config, Source};
use crate::util::content_hash;
use anyhow::{Context, Result};
use std::path::Path;

/// The version of the gate's measuring code (see the module header).
pub const MEASURE_VERSION: &str = env!("XTASK_MEASURE_VERSION");

/// One key's identities: the candidate's, and the base's when the run has
/// a base with this profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub candidate: String,
    pub base: Option<String>,
}

impl Identity {
    /// Base and candidate would measure the same inputs.
    pub fn identical(&self) -> bool {
        self.base.as_deref() == Some(self.candidate.as_str())
    }

    /// The short form reports print: `sha 1a2b3c4d5e6f`.
    pub fn short(&self) -> String {
        short(&self.candidate)
    }
}

/// The first 12 hex digits, for reports.
pub fn short(id: &str) -> String {
    format!("sha {}", &id[..id.len().min(12)])
}

/// What one arm runs, as the identity reads it.
pub struct Arm<'a> {
    /// The module, and for a relative metric its reference build.
    pub modules: Vec<&'a Runnable>,
}

/// The run-wide parts: the gate's measuring code ([`MEASURE_VERSION`]), the
/// browser of the task's environment and the host.
pub struct Shared<'a> {
    pub gate: &'a str,
    pub browser: &'a str,
    pub hardware: &'a str,
    pub quick: bool,
}

/// The identity of one task's arm. Reads the arm's modules and, for a
/// subject scenario, the scenario directory's files.
pub fn of_arm(cfg: &Config, task: &Task, arm: &Arm, cx: &Shared) -> Result<String> {
    let m = &task.metric;
    let metric = format!(
        "{}|{}|{:?}|{:?}|{:?}|{:?}|{}|wasm-memory-only={}",
        m.id,
        m.unit,
        m.source,
        m.statistic,
        m.reference_without,
        m.params,
        m.environment,
        m.wasm_memory_only
    );
    let counts = format!(
        "{}|{}|{}|quick={}",
        task.iterations, task.warmup, task.blocks, cx.quick
    );
    let env = format!("{:?}", cfg.environments.get(&m.environment));
    let protocol = format!("{:?}|{:?}", cfg.protocol, cfg.comparison);
    let mut parts: Vec<(&str, Vec<u8>)> = vec![
        ("gate", cx.gate.as_bytes().to_vec()),
        ("metric", metric.into_bytes()),
        ("counts", counts.into_bytes()),
        ("protocol", protocol.into_bytes()),
        ("environment", env.into_bytes()),
        ("browser", cx.browser.as_bytes().to_vec()),
        ("hardware", cx.hardware.as_bytes().to_vec()),
    ];
    for r in &arm.modules {
        parts.push(("wasm", read(&r.wasm)?));
        if let Some(g) = &r.glue {
            parts.push(("glue", read(g)?));
        }
    }
    if let Source::Scenario(name) = &m.source {
        if crate::builtin::module(name).is_none() {
            for (file, bytes) in scenario_files(&cfg.scenarios_dir)? {
                parts.push(("scenario-name", file.into_bytes()));
                parts.push(("scenario", bytes));
            }
        }
    }
    Ok(hash(&parts))
}

/// The labelled parts, hashed: a label and its bytes per part.
pub fn hash(parts: &[(&str, Vec<u8>)]) -> String {
    let flat: Vec<&[u8]> = parts
        .iter()
        .flat_map(|(label, bytes)| [label.as_bytes(), bytes.as_slice()])
        .collect();
    content_hash(&flat)
}

fn read(p: &Path) -> Result<Vec<u8>> {
    std::fs::read(p).with_context(|| format!("reading {} for its identity", p.display()))
}

/// Every file of the scenario directory (a scenario may import its
/// neighbours), by name, sorted; subdirectories included.
fn scenario_files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d)
            .with_context(|| format!("reading scenario directory {}", d.display()))?;
        for e in entries {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let name = p.strip_prefix(dir).unwrap_or(&p).display().to_string();
                out.push((name, read(&p)?));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The host's hardware, as the identity reads it: CPU model and count.
pub fn hardware() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!("{model} x{cpus} {}", std::env::consts::OS)
}
