//! Stage 5, measure: run every scenario metric for every profile and seed,
//! through a [`Measurer`] (the real one drives headless Chromium, see
//! `browser.rs`; tests use fixed samples), and reduce samples with the
//! protocol of DESIGN.md section 5 (see `stats.rs`).

use crate::budget::ProfileArtifacts;
use crate::config::{Caps, Config, MetricSpec, Source};
use crate::ledger;
use crate::stats;
use crate::summary::{HistogramBlob, SeedValue, Summary};
use anyhow::{anyhow, bail, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// What a scenario's samples are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Durations in milliseconds (from `performance.now()`).
    TimeMs,
    /// Bytes (heap probes).
    Bytes,
    /// A relative overhead in percent.
    Percent,
}

impl Quantity {
    pub fn parse(s: &str) -> Result<Quantity> {
        Ok(match s {
            "time_ms" => Quantity::TimeMs,
            "bytes" => Quantity::Bytes,
            "percent" => Quantity::Percent,
            o => bail!("scenario recorded unknown quantity `{o}`"),
        })
    }

    /// The quantity a metric unit calls for.
    pub fn for_unit(unit: &str) -> Quantity {
        match unit {
            "ms" | "us" => Quantity::TimeMs,
            "%" => Quantity::Percent,
            _ => Quantity::Bytes,
        }
    }

    /// Convert one sample to the metric's unit.
    pub fn to_unit(self, v: f64, unit: &str) -> f64 {
        match (self, unit) {
            (Quantity::TimeMs, "us") => v * 1000.0,
            (Quantity::Bytes, "KiB") => v / 1024.0,
            (Quantity::Bytes, "MiB") => v / (1024.0 * 1024.0),
            _ => v,
        }
    }
}

/// One scenario run: one metric, profile, environment and seed.
#[derive(Debug, Clone)]
pub struct ScenarioRun {
    pub metric_id: String,
    pub profile: String,
    pub environment: String,
    pub scenario: String,
    /// The scenario ES module.
    pub module: PathBuf,
    /// The profile's shipped artifact.
    pub wasm: PathBuf,
    /// wasm-bindgen JS glue, when the subject has one.
    pub glue: Option<PathBuf>,
    pub seed: u64,
    /// Latency: recorded samples wanted. Heap: samples after warmup.
    pub iterations: u32,
    pub warmup: u32,
    /// Operations per recorded sample, for batched micro-scale scenarios.
    pub batch: u32,
    pub throttle: f64,
    pub timeout: Duration,
    pub quantity: Quantity,
}

/// What a scenario run returned.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioOutput {
    pub quantity: Quantity,
    pub samples: Vec<f64>,
    /// Operations each sample covers (1 unless batched).
    pub ops_per_sample: u32,
    /// Free text the scenario wants in the report (what it times).
    pub note: String,
}

/// The seam between the protocol and the browser.
pub trait Measurer {
    fn run(&mut self, run: &ScenarioRun) -> Result<ScenarioOutput>;
    /// Timer resolution of the measuring page, in milliseconds.
    fn timer_resolution_ms(&self) -> Option<f64>;
    /// The throttle actually applied in an environment (after calibration).
    fn throttle_for(&mut self, env: &str, configured: &crate::config::Environment) -> Result<f64>;
    /// Describe the browser for the report.
    fn describe(&self) -> String;
}

/// The planned work: one entry per metric x profile.
#[derive(Debug, Clone)]
pub struct Task {
    pub metric: MetricSpec,
    pub profile: String,
    pub iterations: u32,
    pub warmup: u32,
}

pub fn plan(cfg: &Config, metrics: &[&MetricSpec], profiles: &[String], quick: bool) -> Vec<Task> {
    let mut out = Vec::new();
    for p in profiles {
        for m in metrics {
            if !matches!(m.source, Source::Scenario(_)) || !m.caps.contains_key(p) {
                continue;
            }
            let heap = Quantity::for_unit(&m.unit) == Quantity::Bytes;
            let (iterations, warmup) = match (heap, quick) {
                (true, false) => (cfg.protocol.heap_samples, cfg.protocol.heap_warmup),
                (true, true) => (cfg.protocol.heap_samples.min(cfg.protocol.quick_iterations), cfg.protocol.heap_warmup / 4),
                (false, false) => (cfg.protocol.latency_iterations, 0),
                (false, true) => (cfg.protocol.quick_iterations, 0),
            };
            out.push(Task { metric: (*m).clone(), profile: p.clone(), iterations, warmup });
        }
    }
    out
}

/// The reduced figures of one metric key.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricResult {
    pub value: f64,
    pub per_seed: Vec<SeedValue>,
    pub histogram: HistogramBlob,
    pub method: String,
    pub commands: Vec<String>,
    pub artifact_paths: Vec<String>,
    /// Timer resolution per recorded sample, in the metric's unit.
    pub resolution_in_unit: Option<f64>,
}

impl MetricResult {
    /// A budget below 10x the timer resolution gets a warning in the report.
    pub fn timer_warning(&self, caps: &Caps) -> Option<String> {
        let r = self.resolution_in_unit?;
        (caps.hard < 10.0 * r).then(|| {
            format!("the cap {} is below 10x the effective timer resolution {r:.4}: figures are coarse", caps.hard)
        })
    }
}

/// All measured figures of a run.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// key `metric|profile|environment` -> result.
    pub results: BTreeMap<String, MetricResult>,
    /// Throttle applied per environment.
    pub throttle: BTreeMap<String, f64>,
}

impl Measured {
    pub fn get(&self, metric: &str, profile: &str, env: &str) -> Option<&MetricResult> {
        self.results.get(&ledger::key(metric, profile, env))
    }

    /// CDF points of every merged histogram, for the HTML report.
    pub fn histograms_for_report(&self) -> BTreeMap<String, Vec<(f64, f64)>> {
        self.results
            .iter()
            .filter_map(|(k, r)| stats::decode(&r.histogram).ok().map(|h| (k.clone(), stats::cdf_points(&h, 200))))
            .collect()
    }

    /// Rebuild figures from shard summaries: per seed, the shards'
    /// histograms of the same key are merged exactly and the protocol's
    /// reduction runs again on the merged data (never averaged p95s).
    pub fn from_summaries(summaries: &[Summary]) -> Result<Measured> {
        let mut by_key: BTreeMap<String, (crate::summary::Record, BTreeMap<u64, Vec<HistogramBlob>>)> = BTreeMap::new();
        let mut throttle = BTreeMap::new();
        for s in summaries {
            if s.quick {
                bail!("a --quick shard cannot be merged into a gating result; rerun that shard without --quick");
            }
            throttle.extend(s.fingerprint.throttle.clone());
            for r in &s.records {
                if r.per_seed.is_empty() {
                    continue;
                }
                let key = ledger::key(&r.metric_id, &r.profile, &r.environment);
                let e = by_key.entry(key).or_insert_with(|| (r.clone(), BTreeMap::new()));
                for sv in &r.per_seed {
                    e.1.entry(sv.seed).or_default().push(sv.histogram.clone());
                }
            }
        }
        let mut results = BTreeMap::new();
        for (key, (rec, seeds)) in by_key {
            let mut per_seed = Vec::new();
            let mut all = Vec::new();
            for (seed, blobs) in seeds {
                let hs = blobs.iter().map(stats::decode).collect::<Result<Vec<_>>>()?;
                let h = stats::merge(&hs)?;
                per_seed.push(SeedValue { seed, value: stats::p95(&h), samples: h.len(), histogram: stats::encode(&h)? });
                all.push(h);
            }
            let merged = stats::merge(&all)?;
            let value = stats::median(&per_seed.iter().map(|s| s.value).collect::<Vec<_>>())
                .ok_or_else(|| anyhow!("{key}: no seeds"))?;
            results.insert(
                key,
                MetricResult {
                    value,
                    per_seed,
                    histogram: stats::encode(&merged)?,
                    method: rec.method.clone(),
                    commands: rec.commands.clone(),
                    artifact_paths: rec.artifact_paths.clone(),
                    resolution_in_unit: None,
                },
            );
        }
        Ok(Measured { results, throttle })
    }
}

/// Reduce one seed's output: convert to the metric's unit, histogram, p95.
pub fn reduce_seed(seed: u64, out: &ScenarioOutput, unit: &str) -> Result<(SeedValue, hdrhistogram::Histogram<u64>)> {
    if out.samples.is_empty() {
        bail!("the scenario recorded no samples");
    }
    let samples: Vec<f64> = out.samples.iter().map(|v| out.quantity.to_unit(*v, unit)).collect();
    let h = stats::histogram_of(&samples)?;
    Ok((SeedValue { seed, value: stats::p95(&h), samples: h.len(), histogram: stats::encode(&h)? }, h))
}

/// Run the plan. Every scenario run that fails is retried once; a second
/// failure stops the run (exit 2) naming the scenario, so partial data
/// never yields a pass.
pub fn run(cfg: &Config, plan: &[Task], arts: &[ProfileArtifacts], m: &mut dyn Measurer) -> Result<Measured> {
    let mut out = Measured::default();
    let total: usize = plan.len() * cfg.protocol.seeds.len();
    let mut done = 0usize;
    let t_all = std::time::Instant::now();
    for task in plan {
        let art = arts
            .iter()
            .find(|a| a.info.profile == task.profile)
            .ok_or_else(|| anyhow!("no artifact for profile {}", task.profile))?;
        let env = &task.metric.environment;
        let env_cfg = cfg.environments.get(env).ok_or_else(|| anyhow!("unknown environment {env}"))?;
        let throttle = match out.throttle.get(env) {
            Some(t) => *t,
            None => {
                let t = m.throttle_for(env, env_cfg)?;
                out.throttle.insert(env.clone(), t);
                t
            }
        };
        let Source::Scenario(scenario) = &task.metric.source else { continue };
        let quantity = Quantity::for_unit(&task.metric.unit);
        let mut per_seed = Vec::new();
        let mut hists = Vec::new();
        let mut note = String::new();
        let mut ops = 1;
        for &seed in &cfg.protocol.seeds {
            let run = ScenarioRun {
                metric_id: task.metric.id.clone(),
                profile: task.profile.clone(),
                environment: env.clone(),
                scenario: scenario.clone(),
                module: cfg.scenarios_dir.join(format!("{scenario}.js")),
                wasm: art.shipped.clone(),
                glue: art.glue.clone(),
                seed,
                iterations: task.iterations,
                warmup: task.warmup,
                batch: cfg.protocol.batch,
                throttle,
                timeout: Duration::from_secs(cfg.protocol.scenario_timeout_s),
                quantity,
            };
            let t = std::time::Instant::now();
            let res = match m.run(&run) {
                Ok(r) => Ok(r),
                Err(e) => {
                    eprintln!("budget: scenario {scenario} ({}, {env}, seed {seed}) failed: {e:#}; retrying once", task.profile);
                    m.run(&run)
                }
            };
            let res = res.map_err(|e| {
                anyhow!("scenario `{scenario}` for {} ({}, {env}, seed {seed}) failed twice: {e:#}", task.metric.id, task.profile)
            })?;
            if res.quantity != quantity {
                bail!(
                    "scenario `{scenario}` recorded {:?} but {} is measured in {}",
                    res.quantity,
                    task.metric.id,
                    task.metric.unit
                );
            }
            let (sv, h) = reduce_seed(seed, &res, &task.metric.unit)
                .map_err(|e| anyhow!("scenario `{scenario}` ({}, {env}, seed {seed}): {e:#}", task.profile))?;
            note = res.note.clone();
            ops = res.ops_per_sample.max(1);
            done += 1;
            let line = format!(
                "{} {:<10} {:<7} seed {:>3}: p95 {:.4} {} ({} samples, {:.1}s)",
                task.metric.id,
                task.profile,
                env,
                seed,
                sv.value,
                task.metric.unit,
                sv.samples,
                t.elapsed().as_secs_f64(),
            );
            progress(done, total, t_all.elapsed().as_secs_f64(), &line);
            per_seed.push(sv);
            hists.push(h);
        }
        let merged = stats::merge(&hists)?;
        let value = stats::median(&per_seed.iter().map(|s| s.value).collect::<Vec<_>>())
            .ok_or_else(|| anyhow!("no seeds configured"))?;
        let resolution_in_unit = m
            .timer_resolution_ms()
            .filter(|_| quantity == Quantity::TimeMs)
            .map(|r| Quantity::TimeMs.to_unit(r, &task.metric.unit) / ops as f64);
        let kind = match quantity {
            Quantity::Bytes => format!("{} warmup operations, then {} heap samples per seed", task.warmup, task.iterations),
            _ => format!("{} samples per seed", task.iterations),
        };
        let method = format!(
            "{note}. {kind}{}; p95 per seed (HdrHistogram, 3 significant digits); gate value = median of the per-seed p95s over seeds {:?}; environment {env} (CPU throttle {throttle}x)",
            if ops > 1 { format!(", each sample the mean of a batch of {ops} operations") } else { String::new() },
            cfg.protocol.seeds
        );
        out.results.insert(
            ledger::key(&task.metric.id, &task.profile, env),
            MetricResult {
                value,
                per_seed,
                histogram: stats::encode(&merged)?,
                method,
                commands: vec![format!(
                    "cargo xtask budget --profile {} --env {env} (scenario {scenario}.js, {m})",
                    task.profile,
                    m = m.describe()
                )],
                artifact_paths: vec![art.info.shipped.clone()],
                resolution_in_unit,
            },
        );
    }
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
    Ok(out)
}

use std::io::IsTerminal;

/// Progress of the measure stage: an in-place bar with an ETA on a
/// terminal, one line per finished seed otherwise (CI logs).
fn progress(done: usize, total: usize, elapsed_s: f64, line: &str) {
    if std::io::stderr().is_terminal() {
        let width = 30;
        let filled = done * width / total.max(1);
        let eta = if done > 0 { elapsed_s / done as f64 * (total - done) as f64 } else { 0.0 };
        eprint!(
            "\r\x1b[2Kmeasure [{}{}] {done}/{total} {:.0}s, ~{:.0}s left  {line}",
            "#".repeat(filled),
            ".".repeat(width - filled),
            elapsed_s,
            eta
        );
    } else {
        eprintln!("budget: [{done:>3}/{total}] {line} ({elapsed_s:.0}s elapsed)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_convert() {
        assert_eq!(Quantity::TimeMs.to_unit(0.002, "us"), 2.0);
        assert_eq!(Quantity::Bytes.to_unit(2.0 * 1024.0 * 1024.0, "MiB"), 2.0);
        assert_eq!(Quantity::for_unit("%"), Quantity::Percent);
    }

    #[test]
    fn reduce_seed_takes_p95_in_unit() {
        let out = ScenarioOutput {
            quantity: Quantity::TimeMs,
            samples: (1..=100).map(|i| i as f64 / 1000.0).collect(),
            ops_per_sample: 1,
            note: String::new(),
        };
        let (sv, _) = reduce_seed(7, &out, "us").unwrap();
        assert!((sv.value - 95.0).abs() / 95.0 < 1e-3, "{}", sv.value);
        assert_eq!(sv.samples, 100);
        assert!(reduce_seed(7, &ScenarioOutput { samples: vec![], ..out }, "us").is_err());
    }
}
