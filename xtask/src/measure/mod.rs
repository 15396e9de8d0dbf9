//! Stage 5, measure: run every scenario metric for every profile and seed,
//! through a [`Measurer`] (the real one is the harness page in a browser,
//! `browser/`; tests use fixed samples), and reduce samples with the
//! protocol in docs/ARCHITECTURE.md, "Measurement, in prose" (`stats/`).
//!
//! This file holds the data of the stage (runs, outputs, tasks, results)
//! and the plan; `schedule.rs` runs the plan, `arms.rs` holds what each arm
//! gathered, `reduce.rs` turns it into figures, `fixed.rs` is the
//! browserless measurer of the tests.

use crate::artifacts::Runnable;
use crate::config::{Config, MetricSpec, Source};
use crate::ledger;
use crate::stats;
use crate::summary::{Comparison, HistogramBlob, SeedValue, Summary};
use anyhow::{anyhow, bail, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

mod arms;
mod fixed;
pub mod identity;
mod reduce;
mod schedule;

pub use fixed::FixedMeasurer;
pub use reduce::{explain, identical, not_compared};
pub use schedule::{run, undecided, RunOptions};

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
            (Quantity::Bytes, _) => crate::size::bytes_in_unit(v, unit),
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
    /// The scenario ES module (unused for a built-in: the gate serves its own).
    pub module: PathBuf,
    /// A built-in scenario's data (`h.params`), from budgets.toml.
    pub params: Option<serde_json::Value>,
    /// Heap samples cover the linear memory alone (no forced GC).
    pub wasm_memory_only: bool,
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
    /// The batch size every block of this task uses once the first block
    /// calibrated it, so base and candidate (and every block) time the very
    /// same batch: per-operation cost can depend on the batch size.
    pub fixed_batch: Option<u32>,
    pub throttle: f64,
    pub timeout: Duration,
    pub quantity: Quantity,
    /// The page realm the run executes in: a run whose realm differs from
    /// the previous run's gets a fresh one (a new same-origin iframe: its
    /// own globals, module map and glue copies), so nothing a scenario
    /// left behind carries into another seed, scenario or task. Timings
    /// share one realm per task and seed (its blocks and arms, interleaved);
    /// heap runs each get their own, since objects another arm's run left
    /// reachable would count in the heap.
    pub realm: String,
    /// Relative metrics: the reference build run in the same block,
    /// alternating with this one batch by batch (the scenario sees it as
    /// `h.pair`), so host spells that outlast a batch hit both builds alike.
    pub pair: Option<Runnable>,
}

/// What a scenario run returned.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioOutput {
    pub quantity: Quantity,
    pub samples: Vec<f64>,
    /// Operations each sample covers (1 unless batched).
    pub ops_per_sample: u32,
    /// Milliseconds inside the timed windows behind the samples (this side
    /// only; 0 for heap samples, which time nothing).
    pub window_ms: f64,
    /// Free text the scenario wants in the report (what it times).
    pub note: String,
    /// Heap probes: each sample's parts (`js heap`, `wasm memory`), in
    /// bytes, in sample order; empty when the probe did not split them.
    pub parts: Vec<(String, Vec<f64>)>,
    /// A paired run: what the paired reference build recorded.
    pub pair: Option<Box<ScenarioOutput>>,
    /// The host's speed when the call that ran this block began: the
    /// page's reference workload time, in ms (the same for every run of
    /// one call; None when the measurer has no page).
    pub host_ms: Option<f64>,
}

/// What preparing an environment did (calibrated CPU throttling).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EnvInfo {
    /// The CDP CPU throttling rate applied (1 = none).
    pub rate: f64,
    /// The slowdown that rate achieved on the reference workload, when the
    /// environment asks for one.
    pub achieved: Option<f64>,
}

/// The seam between the protocol and the browser. The real one drives
/// the harness page in a browser (`browser/`); [`FixedMeasurer`] returns fixed samples
/// so the whole pipeline runs in tests without a browser.
pub trait Measurer {
    /// Several runs of one environment, in order; each succeeds or fails on
    /// its own. A browser does them in one round trip.
    fn run_many(&mut self, runs: &[ScenarioRun]) -> Vec<Result<ScenarioOutput>>;
    /// One run: a round of one.
    fn run(&mut self, r: &ScenarioRun) -> Result<ScenarioOutput> {
        self.run_many(std::slice::from_ref(r))
            .pop()
            .unwrap_or_else(|| Err(anyhow!("no result")))
    }
    /// Timer resolution of the page measuring environment `env`, in ms.
    fn timer_resolution_ms(&self, env: &str) -> Option<f64>;
    /// Make the browser ready for an environment: its V8 flags, and the
    /// throttling rate calibrated to the environment's target slowdown.
    fn prepare_environment(
        &mut self,
        env: &str,
        configured: &crate::config::Environment,
    ) -> Result<EnvInfo>;
    /// Describe the browser of environment `env` for the report.
    fn describe(&self, env: &str) -> String;
    /// The product and version of the browser that would measure `env`,
    /// without starting it (a key's identity names it).
    fn browser_version(&mut self, env: &str) -> Result<String>;
    /// Fill in the run-wide browser fields of the fingerprint (Chromium's:
    /// its product, origin and page clock).
    fn fingerprint(&self, _f: &mut crate::summary::Fingerprint) {}
    /// The browser that measures environment `env`, for the fingerprint.
    fn env_browser(&self, _env: &str) -> Option<crate::summary::EnvBrowser> {
        None
    }
}

/// Every run of a round failed with the same error (the browser is gone,
/// or would not start): one error per run, so each is retried on its own.
pub fn all_failed(runs: &[ScenarioRun], e: &anyhow::Error) -> Vec<Result<ScenarioOutput>> {
    let msg = format!("{e:#}");
    runs.iter().map(|_| Err(anyhow!("{msg}"))).collect()
}

/// The planned work: one entry per metric x profile.
#[derive(Debug, Clone)]
pub struct Task {
    pub metric: MetricSpec,
    pub profile: String,
    /// Latency: samples per block. Heap: samples after warmup.
    pub iterations: u32,
    pub warmup: u32,
    /// Blocks per arm and seed before any extension.
    pub blocks: u32,
    /// What its figure is a function of ([`identify`]); None until then,
    /// and for runs that measure regardless (`--fresh`, calibrate, bisect).
    pub identity: Option<identity::Identity>,
}

impl Task {
    /// The key of its results: `metric|profile|environment`.
    fn key(&self) -> String {
        ledger::key(&self.metric.id, &self.profile, &self.metric.environment)
    }

    /// A heap metric (bytes), not a timing.
    fn is_heap(&self) -> bool {
        self.metric.is_heap()
    }
}

/// Samples per block for a full (not `--quick`) timing: the seed's
/// samples split over its blocks, but never fewer than 100 per block, so
/// that a block's p95 is its fifth-largest sample or better. A metric with
/// more blocks than that allows takes more samples per seed, never fewer.
pub fn block_samples(per_seed: u32, blocks: u32) -> u32 {
    per_seed.div_ceil(blocks.max(1)).max(100)
}

/// The plan, ordered by environment (each environment may need its own
/// browser), then profile, then metric.
pub fn plan(cfg: &Config, metrics: &[&MetricSpec], profiles: &[String], quick: bool) -> Vec<Task> {
    let mut out = Vec::new();
    for env in cfg.environments.keys() {
        for p in profiles {
            for m in metrics {
                if !matches!(m.source, Source::Scenario(_))
                    || !m.caps.contains_key(p)
                    || &m.environment != env
                {
                    continue;
                }
                let heap = m.is_heap();
                let per_seed = if quick {
                    cfg.protocol.quick_iterations
                } else {
                    cfg.protocol.latency_iterations
                };
                let (iterations, warmup, blocks) = match (heap, quick) {
                    (true, false) => (cfg.protocol.heap_samples, cfg.protocol.heap_warmup, 1),
                    (true, true) => (
                        cfg.protocol.heap_samples.min(cfg.protocol.quick_iterations),
                        cfg.protocol.heap_warmup / 4,
                        1,
                    ),
                    (false, _) => {
                        // --quick keeps the protocol's blocks: its few
                        // samples are not split further.
                        match quick {
                            false => {
                                let blocks = m.blocks.unwrap_or(cfg.protocol.blocks);
                                (block_samples(per_seed, blocks), 0, blocks)
                            }
                            true => (
                                per_seed.div_ceil(cfg.protocol.blocks),
                                0,
                                cfg.protocol.blocks,
                            ),
                        }
                    }
                };
                out.push(Task {
                    metric: (*m).clone(),
                    profile: p.clone(),
                    iterations,
                    warmup,
                    blocks,
                    identity: None,
                });
            }
        }
    }
    out
}

/// Give every task of the plan its identity (`identity.rs`): what its
/// candidate runs, and what its base would run. Each environment's browser
/// names its version once, without a page.
pub fn identify(
    cfg: &Config,
    plan: &mut [Task],
    arts: &[crate::artifacts::ProfileArtifacts],
    base: Option<&crate::artifacts::Base>,
    m: &mut dyn Measurer,
    quick: bool,
) -> Result<()> {
    let hardware = identity::hardware();
    let mut browsers: BTreeMap<String, String> = BTreeMap::new();
    for task in plan.iter_mut() {
        let env = &task.metric.environment;
        if !browsers.contains_key(env) {
            browsers.insert(env.clone(), m.browser_version(env)?);
        }
        let cx = identity::Shared {
            gate: identity::MEASURE_VERSION,
            browser: &browsers[env],
            hardware: &hardware,
            quick,
        };
        let (arms, excluded, _) = arms::arms_of(task, arts, base, 0)?;
        let side = |base_side: bool| identity::Arm {
            modules: arms
                .iter()
                .filter(|a| a.role.is_base() == base_side)
                .map(|a| &a.module)
                .collect(),
        };
        let candidate = identity::of_arm(cfg, task, &side(false), &cx)?;
        let base_arm = side(true);
        let base = if excluded.is_none() && !base_arm.modules.is_empty() {
            Some(identity::of_arm(cfg, task, &base_arm, &cx)?)
        } else {
            None
        };
        task.identity = Some(identity::Identity { candidate, base });
    }
    Ok(())
}

/// The reduced figures of one metric key.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricResult {
    pub value: f64,
    /// The value's 95 % interval (hierarchical bootstrap, `stats/`).
    pub value_ci: Option<stats::Interval>,
    pub per_seed: Vec<SeedValue>,
    pub histogram: HistogramBlob,
    pub method: String,
    pub commands: Vec<String>,
    pub artifact_paths: Vec<String>,
    /// One clock tick per recorded sample, in the metric's unit (timings;
    /// for relative metrics, in ms of the timed samples behind them).
    pub resolution_in_unit: Option<f64>,
    /// The figure in clock ticks (per operation for batched samples): the
    /// smallest timed statistic behind it over the tick.
    pub clock_ticks: Option<f64>,
    /// The live comparison with the base, when there is a base.
    pub comparison: Option<Comparison>,
    /// Heap metrics: the trend of each seed's window (a leak check).
    pub heap_growth: Option<stats::HeapGrowth>,
    /// Scenario runs that failed on their first try (the retry passed).
    pub retried: Vec<String>,
    /// Where it was measured, when that differs from the run's own
    /// fingerprint (a merged shard's record).
    pub fingerprint: Option<crate::summary::Fingerprint>,
    /// For the report's distribution plot: the per-seed statistic, the
    /// offset from histogram values to the metric's unit (-100 for relative
    /// metrics, kept in percent of the reference), and the base's merged
    /// histogram when the base was measured in this session.
    pub statistic: stats::Statistic,
    pub offset: f64,
    pub base_histogram: Option<HistogramBlob>,
    /// What measuring this key cost.
    pub cost: Option<crate::summary::Cost>,
    /// What the figure is a function of (`identity.rs`), when known.
    pub identity: Option<String>,
    /// Taken from an earlier run's measurement of the same identity
    /// (`reuse.rs`), not measured now.
    pub reused: Option<crate::summary::Provenance>,
}

/// All measured figures of a run.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// key `metric|profile|environment` -> result.
    pub results: BTreeMap<String, MetricResult>,
    /// Per environment: applied throttle rate and achieved slowdown.
    pub envs: BTreeMap<String, EnvInfo>,
    /// Per environment: the host's speed at every call that measured it
    /// (the reference workload's time in the page, ms).
    pub host_ms: BTreeMap<String, Vec<f64>>,
    /// Per environment: what measuring it cost (summed over shards).
    pub cost: BTreeMap<String, crate::summary::Cost>,
}

impl Measured {
    pub fn get(&self, metric: &str, profile: &str, env: &str) -> Option<&MetricResult> {
        self.results.get(&ledger::key(metric, profile, env))
    }

    /// The distribution of every key (and of its base), in the metric's
    /// unit, for the HTML report.
    pub fn histograms_for_report(&self) -> BTreeMap<String, stats::Cdf> {
        let points = |b: &HistogramBlob, offset: f64| {
            stats::decode(b).ok().map(|h| {
                stats::cdf_points(&h, 200)
                    .into_iter()
                    .map(|(x, f)| (x + offset, f))
                    .collect::<Vec<_>>()
            })
        };
        self.results
            .iter()
            .filter_map(|(k, r)| {
                let candidate = points(&r.histogram, r.offset)?;
                let base = r.base_histogram.as_ref().and_then(|b| points(b, r.offset));
                Some((
                    k.clone(),
                    stats::Cdf {
                        candidate,
                        base,
                        quantile: r.statistic.quantile(),
                    },
                ))
            })
            .collect()
    }

    /// Rebuild figures from shard summaries: per seed, the shards'
    /// histograms of the same key are merged exactly and the protocol's
    /// reduction runs again on the merged data (never averaged p95s). Each
    /// shard measured its own base beside its candidate, so comparisons and
    /// intervals are kept as the shard computed them.
    pub fn from_summaries(summaries: &[Summary], cfg: &Config) -> Result<Measured> {
        let mut by_key: BTreeMap<
            String,
            (crate::summary::Record, BTreeMap<u64, Vec<HistogramBlob>>),
        > = BTreeMap::new();
        let mut envs = BTreeMap::new();
        let mut cost: BTreeMap<String, crate::summary::Cost> = BTreeMap::new();
        for s in summaries {
            for (e, c) in &s.cost {
                cost.entry(e.clone()).or_default().add(c);
            }
            for (e, f) in &s.fingerprint.environments {
                if let Some(rate) = f.throttle_rate {
                    envs.insert(
                        e.clone(),
                        EnvInfo {
                            rate,
                            achieved: f.throttle_achieved,
                        },
                    );
                }
            }
            for r in &s.records {
                if r.per_seed.is_empty() {
                    continue;
                }
                let key = ledger::key(&r.metric_id, &r.profile, &r.environment);
                let e = by_key
                    .entry(key)
                    .or_insert_with(|| (r.clone(), BTreeMap::new()));
                for sv in &r.per_seed {
                    e.1.entry(sv.seed).or_default().push(sv.histogram.clone());
                }
            }
        }
        let mut results = BTreeMap::new();
        for (key, (rec, seeds)) in by_key {
            let spec = cfg.metrics.iter().find(|m| m.id == rec.metric_id);
            let statistic = spec.map(|m| m.statistic).unwrap_or_default();
            // Relative metrics keep histograms in percent of the reference.
            let offset = if spec.is_some_and(|m| m.is_relative()) {
                -100.0
            } else {
                0.0
            };
            let mut per_seed = Vec::new();
            let mut all = Vec::new();
            for (seed, blobs) in seeds {
                let hs = blobs
                    .iter()
                    .map(stats::decode)
                    .collect::<Result<Vec<_>>>()?;
                let h = stats::merge(&hs)?;
                per_seed.push(seed_value(seed, &h, statistic, offset)?);
                all.push(h);
            }
            let merged = stats::merge(&all)?;
            let value = gate_value(&per_seed).ok_or_else(|| anyhow!("{key}: no seeds"))?;
            let histogram = stats::encode(&merged)?;
            results.insert(
                key,
                of_record(rec, per_seed, histogram, value, statistic, offset),
            );
        }
        Ok(Measured {
            results,
            envs,
            host_ms: BTreeMap::new(),
            cost,
        })
    }
}

/// A result as a record reported it, with the figures given (a merge's are
/// recomputed from the shards' histograms). It keeps the fingerprint of
/// where it was measured; a record holds no base samples.
fn of_record(
    rec: crate::summary::Record,
    per_seed: Vec<SeedValue>,
    histogram: HistogramBlob,
    value: f64,
    statistic: stats::Statistic,
    offset: f64,
) -> MetricResult {
    MetricResult {
        value,
        value_ci: rec.value_ci,
        per_seed,
        histogram,
        method: rec.method,
        commands: rec.commands,
        artifact_paths: rec.artifact_paths,
        resolution_in_unit: rec.clock.as_ref().map(|c| c.tick_in_unit),
        clock_ticks: rec.clock.as_ref().map(|c| c.ticks),
        comparison: rec.comparison,
        heap_growth: rec.heap_growth,
        retried: rec.retried,
        fingerprint: Some(rec.fingerprint),
        statistic,
        offset,
        base_histogram: None,
        cost: rec.cost,
        identity: rec.identity,
        reused: rec.reused,
    }
}

/// The result of `task` taken from an earlier run's record of the same
/// identity, with where it came from. Its comparison is the identical-
/// inputs one when the task's base is the candidate, else none; nothing
/// was spent measuring it.
pub fn reused_result(
    cfg: &Config,
    task: &Task,
    base_origin: Option<&str>,
    rec: crate::summary::Record,
    provenance: crate::summary::Provenance,
) -> Result<MetricResult> {
    let offset = if task.metric.is_relative() {
        -100.0
    } else {
        0.0
    };
    let value = rec
        .value
        .ok_or_else(|| anyhow!("the stored figure of {} has no value", task.key()))?;
    let histogram = rec
        .histogram
        .clone()
        .ok_or_else(|| anyhow!("the stored figure of {} has no histogram", task.key()))?;
    let per_seed = rec.per_seed.clone();
    let mut r = of_record(
        rec,
        per_seed,
        histogram,
        value,
        task.metric.statistic,
        offset,
    );
    r.comparison = match (&task.identity, base_origin) {
        (Some(id), Some(origin)) if id.identical() => {
            Some(identical(not_compared(cfg, &task.metric, origin), id))
        }
        _ => None,
    };
    r.cost = None;
    r.reused = Some(provenance);
    Ok(r)
}

/// One seed's figure, read off its histogram (so a merge of shards, which
/// has only the histograms, recomputes exactly the same figure): the
/// statistic plus `offset` (-100 for relative metrics kept in percent).
pub(super) fn seed_value(
    seed: u64,
    h: &hdrhistogram::Histogram<u64>,
    stat: stats::Statistic,
    offset: f64,
) -> Result<SeedValue> {
    Ok(SeedValue {
        seed,
        value: stats::statistic_of(h, stat) + offset,
        samples: h.len(),
        histogram: stats::encode(h)?,
    })
}

/// The gate value: the median of the per-seed figures (README, "Measurement protocol").
pub(super) fn gate_value(per_seed: &[SeedValue]) -> Option<f64> {
    stats::median(&per_seed.iter().map(|s| s.value).collect::<Vec<_>>())
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
}
