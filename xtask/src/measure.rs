//! Stage 5, measure: run every scenario metric for every profile and seed,
//! through a [`Measurer`] (the real one drives headless Chromium, see
//! `browser.rs`; tests use fixed samples), and reduce samples with the
//! protocol in the README, "Measurement protocol" (see `stats.rs`).

use crate::artifacts::{reference_key, Base, ProfileArtifacts, Runnable};
use crate::config::{Config, MetricSpec, Source};
use crate::ledger;
use crate::stats;
use crate::summary::{Comparison, HistogramBlob, SeedValue, Summary};
use anyhow::{anyhow, bail, Result};
use std::borrow::Cow;
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
/// headless Chromium (`browser.rs`); [`FixedMeasurer`] returns fixed samples
/// so the whole pipeline runs in tests without a browser.
pub trait Measurer {
    /// Several runs of one environment, in order; each succeeds or fails on
    /// its own. A browser does them in one round trip.
    fn run_many(&mut self, runs: &[ScenarioRun]) -> Vec<Result<ScenarioOutput>>;
    /// One run: a round of one.
    fn run(&mut self, r: &ScenarioRun) -> Result<ScenarioOutput> {
        self.run_many(std::slice::from_ref(r)).pop().unwrap_or_else(|| Err(anyhow!("no result")))
    }
    /// Timer resolution of the page measuring environment `env`, in ms.
    fn timer_resolution_ms(&self, env: &str) -> Option<f64>;
    /// Make the browser ready for an environment: its V8 flags, and the
    /// throttling rate calibrated to the environment's target slowdown.
    fn prepare_environment(&mut self, env: &str, configured: &crate::config::Environment) -> Result<EnvInfo>;
    /// Describe the browser of environment `env` for the report.
    fn describe(&self, env: &str) -> String;
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
}

impl Task {
    /// A heap metric (bytes), not a timing.
    fn is_heap(&self) -> bool {
        self.metric.is_heap()
    }
}

/// The plan, ordered by environment (each environment may need its own
/// browser), then profile, then metric.
pub fn plan(cfg: &Config, metrics: &[&MetricSpec], profiles: &[String], quick: bool) -> Vec<Task> {
    let mut out = Vec::new();
    for env in cfg.environments.keys() {
        for p in profiles {
            for m in metrics {
                if !matches!(m.source, Source::Scenario(_)) || !m.caps.contains_key(p) || &m.environment != env {
                    continue;
                }
                let heap = m.is_heap();
                let per_seed = if quick { cfg.protocol.quick_iterations } else { cfg.protocol.latency_iterations };
                let (iterations, warmup, blocks) = match (heap, quick) {
                    (true, false) => (cfg.protocol.heap_samples, cfg.protocol.heap_warmup, 1),
                    (true, true) => (cfg.protocol.heap_samples.min(cfg.protocol.quick_iterations), cfg.protocol.heap_warmup / 4, 1),
                    (false, _) => (per_seed.div_ceil(cfg.protocol.blocks), 0, cfg.protocol.blocks),
                };
                out.push(Task { metric: (*m).clone(), profile: p.clone(), iterations, warmup, blocks });
            }
        }
    }
    out
}

/// The reduced figures of one metric key.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricResult {
    pub value: f64,
    /// The value's 95 % interval (hierarchical bootstrap, `stats.rs`).
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
}

impl Measured {
    pub fn get(&self, metric: &str, profile: &str, env: &str) -> Option<&MetricResult> {
        self.results.get(&ledger::key(metric, profile, env))
    }

    /// The distribution of every key (and of its base), in the metric's
    /// unit, for the HTML report.
    pub fn histograms_for_report(&self) -> BTreeMap<String, stats::Cdf> {
        let points = |b: &HistogramBlob, offset: f64| {
            stats::decode(b).ok().map(|h| stats::cdf_points(&h, 200).into_iter().map(|(x, f)| (x + offset, f)).collect::<Vec<_>>())
        };
        self.results
            .iter()
            .filter_map(|(k, r)| {
                let candidate = points(&r.histogram, r.offset)?;
                let base = r.base_histogram.as_ref().and_then(|b| points(b, r.offset));
                Some((k.clone(), stats::Cdf { candidate, base, quantile: r.statistic.quantile() }))
            })
            .collect()
    }

    /// Rebuild figures from shard summaries: per seed, the shards'
    /// histograms of the same key are merged exactly and the protocol's
    /// reduction runs again on the merged data (never averaged p95s). Each
    /// shard measured its own base beside its candidate, so comparisons and
    /// intervals are kept as the shard computed them.
    pub fn from_summaries(summaries: &[Summary], cfg: &Config) -> Result<Measured> {
        let mut by_key: BTreeMap<String, (crate::summary::Record, BTreeMap<u64, Vec<HistogramBlob>>)> = BTreeMap::new();
        let mut envs = BTreeMap::new();
        for s in summaries {
            for (e, rate) in &s.fingerprint.throttle_rate {
                envs.insert(e.clone(), EnvInfo { rate: *rate, achieved: s.fingerprint.throttle_achieved.get(e).copied() });
            }
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
            let spec = cfg.metrics.iter().find(|m| m.id == rec.metric_id);
            let statistic = spec.map(|m| m.statistic).unwrap_or_default();
            // Relative metrics keep histograms in percent of the reference.
            let offset = if spec.is_some_and(|m| m.is_relative()) { -100.0 } else { 0.0 };
            let mut per_seed = Vec::new();
            let mut all = Vec::new();
            for (seed, blobs) in seeds {
                let hs = blobs.iter().map(stats::decode).collect::<Result<Vec<_>>>()?;
                let h = stats::merge(&hs)?;
                per_seed.push(seed_value(seed, &h, statistic, offset)?);
                all.push(h);
            }
            let merged = stats::merge(&all)?;
            let value = gate_value(&per_seed).ok_or_else(|| anyhow!("{key}: no seeds"))?;
            results.insert(
                key,
                MetricResult {
                    value,
                    value_ci: rec.value_ci,
                    per_seed,
                    histogram: stats::encode(&merged)?,
                    method: rec.method.clone(),
                    commands: rec.commands.clone(),
                    artifact_paths: rec.artifact_paths.clone(),
                    resolution_in_unit: rec.clock.as_ref().map(|c| c.tick_in_unit),
                    clock_ticks: rec.clock.as_ref().map(|c| c.ticks),
                    comparison: rec.comparison.clone(),
                    heap_growth: rec.heap_growth.clone(),
                    retried: rec.retried.clone(),
                    fingerprint: Some(rec.fingerprint.clone()),
                    statistic,
                    offset,
                    // A shard's base samples are not in its summary.
                    base_histogram: None,
                },
            );
        }
        Ok(Measured { results, envs, host_ms: BTreeMap::new() })
    }
}

/// One seed's figure, read off its histogram (so a merge of shards, which
/// has only the histograms, recomputes exactly the same figure): the
/// statistic plus `offset` (-100 for relative metrics kept in percent).
fn seed_value(seed: u64, h: &hdrhistogram::Histogram<u64>, stat: stats::Statistic, offset: f64) -> Result<SeedValue> {
    Ok(SeedValue { seed, value: stats::statistic_of(h, stat) + offset, samples: h.len(), histogram: stats::encode(h)? })
}

/// The gate value: the median of the per-seed figures (README, "Measurement protocol").
fn gate_value(per_seed: &[SeedValue]) -> Option<f64> {
    stats::median(&per_seed.iter().map(|s| s.value).collect::<Vec<_>>())
}

/// Who an arm of a comparison is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Candidate,
    /// The candidate's reference build (relative metrics).
    Reference,
    Base,
    BaseReference,
}

impl Role {
    fn is_base(self) -> bool {
        matches!(self, Role::Base | Role::BaseReference)
    }
    /// The arm that runs paired with this one, in one block (relative
    /// metrics: a build's reference build).
    fn partner(self) -> Option<Role> {
        match self {
            Role::Candidate => Some(Role::Reference),
            Role::Base => Some(Role::BaseReference),
            _ => None,
        }
    }
    /// Does this arm run only as another arm's pair?
    fn is_partner(self) -> bool {
        matches!(self, Role::Reference | Role::BaseReference)
    }
    fn label(self) -> &'static str {
        match self {
            Role::Candidate => "candidate",
            Role::Reference => "reference",
            Role::Base => "base",
            Role::BaseReference => "base reference",
        }
    }
}

struct Arm {
    role: Role,
    module: Runnable,
    samples: stats::ArmSamples,
    /// Batch size (operations per sample) of each block.
    ops: Vec<u32>,
    note: String,
    /// Heap probes: per seed, the parts of the last block's samples.
    parts: Vec<Vec<(String, Vec<f64>)>>,
}

/// One task's arms and what happened to them.
struct TaskState<'a> {
    task: &'a Task,
    index: usize,
    arms: Vec<Arm>,
    /// Why the base arms were dropped (the comparison is not comparable).
    base_excluded: Option<String>,
    /// Rounds run per seed (the protocol's blocks plus extensions).
    rounds: u32,
    extended: bool,
    /// Scenario runs that failed on their first try and passed on the
    /// retry: what failed, in words (reported, never hidden by the retry).
    retried: Vec<String>,
    artifact: String,
    /// The batch size the task's first block calibrated (batched scenarios).
    fixed_batch: Option<u32>,
    /// Seconds one block took, measured on the task's first call: sizes
    /// later calls (see `run_rounds`).
    block_s: Option<f64>,
    /// The host's speed at each of the task's calls (`ScenarioOutput::host_ms`).
    host_ms: Vec<f64>,
}

impl Arm {
    /// The typical batch size over blocks (calibration may differ a little
    /// from block to block).
    fn typical_ops(&self) -> u32 {
        let v: Vec<f64> = self.ops.iter().map(|&o| o as f64).collect();
        stats::median(&v).map(|m| m as u32).unwrap_or(1).max(1)
    }
}

impl TaskState<'_> {
    fn arm(&self, role: Role) -> Option<&Arm> {
        self.arms.iter().find(|a| a.role == role)
    }
}

/// The arms of one task: candidate (+ reference), and the base's when the
/// base has this profile (and its reference build, for relative metrics).
type ArmsOf = (Vec<Arm>, Option<String>, String);

fn arms_of(task: &Task, arts: &[ProfileArtifacts], base: Option<&Base>, seeds: usize) -> Result<ArmsOf> {
    let art = arts
        .iter()
        .find(|a| a.info.profile == task.profile)
        .ok_or_else(|| anyhow!("no artifact for profile {}", task.profile))?;
    let arm = |role, module: Runnable| Arm { role, module, samples: stats::ArmSamples::with_seeds(seeds), ops: Vec::new(), note: String::new(), parts: vec![Vec::new(); seeds] };
    let mut arms = vec![arm(Role::Candidate, art.runnable())];
    let ref_key = task.metric.reference_without.as_deref().map(reference_key);
    if let Some(k) = &ref_key {
        let r = art.references.get(k).ok_or_else(|| anyhow!("profile {} has no reference build {k}", task.profile))?;
        arms.push(arm(Role::Reference, r.clone()));
    }
    let mut excluded = None;
    if let Some(b) = base {
        match b.profiles.get(&task.profile) {
            None => excluded = Some(format!("the base ({}) has no artifact for profile {}", b.origin, task.profile)),
            Some(bp) => match &ref_key {
                None => arms.push(arm(Role::Base, bp.main.clone())),
                Some(k) => match bp.references.get(k) {
                    Some(r) => {
                        arms.push(arm(Role::Base, bp.main.clone()));
                        arms.push(arm(Role::BaseReference, r.clone()));
                    }
                    None => excluded = Some(format!("the base ({}) has no {k} reference build of {}", b.origin, task.profile)),
                },
            },
        }
    }
    Ok((arms, excluded, art.info.shipped.clone()))
}

/// Options of the measure stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// `--quick`: fewer samples and no extension.
    pub quick: bool,
}

/// Run the plan: per task and seed, `blocks` rounds in which every arm runs
/// one block, in a randomized order per round (duet benchmarking, see
/// `stats.rs`), seed by seed across an environment's tasks. Then, within `comparison.extend_budget_s`, more rounds for
/// the tasks whose comparison is inconclusive or whose interval straddles a
/// warn line. A candidate scenario that fails twice stops the run (exit 2)
/// naming it, so partial data never yields a pass; a base scenario that
/// fails makes that comparison "not comparable", with the reason.
pub fn run(cfg: &Config, plan: &[Task], arts: &[ProfileArtifacts], base: Option<&Base>, m: &mut dyn Measurer, opts: RunOptions) -> Result<Measured> {
    let seeds = &cfg.protocol.seeds;
    let mut states = Vec::new();
    for (index, task) in plan.iter().enumerate() {
        let (arms, base_excluded, artifact) = arms_of(task, arts, base, seeds.len())?;
        states.push(TaskState { task, index, arms, base_excluded, rounds: 0, extended: false, retried: Vec::new(), artifact, fixed_batch: None, block_s: None, host_ms: Vec::new() });
    }
    let mut envs: BTreeMap<String, EnvInfo> = BTreeMap::new();
    let mut current_env: Option<String> = None;
    let total: usize = states.iter().map(|s| s.task.blocks as usize * s.arms.len() * seeds.len()).sum();
    let mut progress = Progress { done: 0, total, started: std::time::Instant::now() };

    // Seeds outermost within an environment: every task's first seed, then
    // every task's second, and so on. The host's slow spells last tens of
    // seconds (one took the replay overhead of all five seeds of one key
    // from 6 % to 15 % in one run, while its pairs were a millisecond
    // apart); one task's seeds back to back fell in one spell together, so
    // the median over seeds could not set it aside. Spread over the
    // environment's whole measuring time, a spell lands in one seed of many
    // keys instead of in every seed of one.
    let mut start = 0;
    while start < states.len() {
        let env = states[start].task.metric.environment.clone();
        let end = start + states[start..].iter().take_while(|s| s.task.metric.environment == env).count();
        enter_env(cfg, m, &env, &mut current_env, &mut envs)?;
        // Heap tasks first, and each task's seeds together: bytes know no
        // host spells, and the page's JS heap keeps something of every realm
        // that ran before (with the timings interleaved first, a heap key's
        // per-seed figures rose 2.2, 4.1, 5.7, 7.4, 9.3 MiB), so a heap
        // figure should follow as few realms as possible.
        let mut order: Vec<(usize, usize)> = Vec::new();
        for (i, st) in states[start..end].iter().enumerate() {
            if st.task.is_heap() {
                order.extend((0..seeds.len()).map(|si| (si, start + i)));
            }
        }
        for si in 0..seeds.len() {
            for (i, st) in states[start..end].iter().enumerate() {
                if !st.task.is_heap() {
                    order.push((si, start + i));
                }
            }
        }
        for (si, ti) in order {
            let st = &mut states[ti];
            let t = std::time::Instant::now();
            run_rounds(cfg, m, st, si, 0..st.task.blocks, &envs, &mut progress)?;
            let cand = st.arm(Role::Candidate).expect("every task has a candidate");
            let p = cand.samples.seed_stat(si, st.task.metric.statistic).unwrap_or(f64::NAN);
            progress.line(&format!(
                "{} {:<10} {:<7} seed {:>3}: {} {:.4} {} ({} arms x {} blocks, {:.1}s)",
                st.task.metric.id,
                st.task.profile,
                st.task.metric.environment,
                seeds[si],
                st.task.metric.statistic.name(),
                p,
                if st.task.metric.is_relative() { "ms (candidate build)" } else { &st.task.metric.unit },
                st.arms.len(),
                st.task.blocks,
                t.elapsed().as_secs_f64()
            ));
        }
        for st in states[start..end].iter_mut() {
            st.rounds = st.task.blocks;
        }
        start = end;
    }

    let mut results = BTreeMap::new();
    for st in &states {
        results.insert(key_of(st.task), reduce(cfg, st, base, m)?);
    }
    if !opts.quick {
        let deadline = std::time::Instant::now() + Duration::from_secs(cfg.comparison.extend_budget_s);
        loop {
            let undecided: Vec<usize> = states
                .iter()
                .enumerate()
                .filter(|(_, st)| results.get(&key_of(st.task)).is_some_and(|r| undecided(st.task, r)))
                .map(|(i, _)| i)
                .collect();
            if undecided.is_empty() || std::time::Instant::now() >= deadline {
                break;
            }
            eprintln!(
                "budget: {} comparison(s) or band(s) still inconclusive; adding a block per arm and seed ({:.0}s of the {}s extension budget left)",
                undecided.len(),
                deadline.saturating_duration_since(std::time::Instant::now()).as_secs_f64(),
                cfg.comparison.extend_budget_s
            );
            for i in undecided {
                if std::time::Instant::now() >= deadline {
                    break;
                }
                let st = &mut states[i];
                enter_env(cfg, m, &st.task.metric.environment, &mut current_env, &mut envs)?;
                progress.total += st.arms.len() * seeds.len();
                for si in 0..seeds.len() {
                    run_rounds(cfg, m, st, si, st.rounds..st.rounds + 1, &envs, &mut progress)?;
                }
                st.rounds += 1;
                st.extended = true;
                let r = reduce(cfg, st, base, m)?;
                progress.line(&format!(
                    "{} {} {}: extended to {} blocks: {}",
                    st.task.metric.id,
                    st.task.profile,
                    st.task.metric.environment,
                    st.rounds,
                    r.comparison.as_ref().map(|c| c.verdict.as_str()).unwrap_or("band")
                ));
                results.insert(key_of(st.task), r);
            }
        }
    }
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
    let mut host_ms: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for st in &states {
        host_ms.entry(st.task.metric.environment.clone()).or_default().extend(&st.host_ms);
    }
    host_ms.retain(|_, v| !v.is_empty());
    Ok(Measured { results, envs, host_ms })
}

fn key_of(t: &Task) -> String {
    ledger::key(&t.metric.id, &t.profile, &t.metric.environment)
}

/// Does this result need more blocks? An inconclusive comparison, or an
/// interval that straddles the warn line of a warn-then-block metric.
pub fn undecided(task: &Task, r: &MetricResult) -> bool {
    if r.comparison.as_ref().is_some_and(|c| c.verdict == stats::AbVerdict::Inconclusive) {
        return true;
    }
    let warn = task.metric.caps.get(&task.profile).and_then(|c| c.warn);
    match (warn, &r.value_ci) {
        (Some(w), Some(ci)) if task.metric.kind == crate::config::GateKind::WarnThenBlock => {
            stats::band(ci, w) == stats::Band::Straddles && stats::straddle_can_close(ci, w)
        }
        _ => false,
    }
}

fn enter_env(cfg: &Config, m: &mut dyn Measurer, env: &str, current: &mut Option<String>, envs: &mut BTreeMap<String, EnvInfo>) -> Result<()> {
    if current.as_deref() == Some(env) {
        return Ok(());
    }
    let env_cfg = cfg.environments.get(env).ok_or_else(|| anyhow!("unknown environment {env}"))?;
    let info = m.prepare_environment(env, env_cfg)?;
    envs.insert(env.to_string(), info);
    *current = Some(env.to_string());
    Ok(())
}

/// One round of one seed: every arm runs one block, in a seeded random
/// order (so drift hits base and candidate alike, and no arm always goes
/// first).
fn run_rounds(
    cfg: &Config,
    m: &mut dyn Measurer,
    st: &mut TaskState,
    si: usize,
    rounds: std::ops::Range<u32>,
    envs: &BTreeMap<String, EnvInfo>,
    progress: &mut Progress,
) -> Result<()> {
    let seed = cfg.protocol.seeds[si];
    let Source::Scenario(scenario) = &st.task.metric.source else { bail!("{} is not a scenario metric", st.task.metric.id) };
    let env = &st.task.metric.environment;
    let rate = envs.get(env).map(|e| e.rate).unwrap_or(1.0);
    let unit = if st.task.metric.is_relative() { "ms" } else { st.task.metric.unit.as_str() };
    // Every round runs each arm once, in its own seeded random order.
    let mut planned: Vec<(usize, ScenarioRun)> = Vec::new();
    let heap = st.task.is_heap();
    for round in rounds {
        let mut order: Vec<usize> = (0..st.arms.len()).collect();
        let mut rng = stats::SplitMix::new(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ ((round as u64) << 32) ^ st.index as u64);
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        for ai in order {
            if st.arms[ai].role.is_base() && st.base_excluded.is_some() {
                continue;
            }
            // A reference build runs inside its build's block, paired.
            if st.arms[ai].role.is_partner() {
                continue;
            }
            let pair = st.arms[ai].role.partner().and_then(|r| st.arm(r)).map(|a| a.module.clone());
            planned.push((
                ai,
                ScenarioRun {
                    metric_id: st.task.metric.id.clone(),
                    profile: st.task.profile.clone(),
                    environment: env.clone(),
                    scenario: scenario.clone(),
                    module: cfg.scenarios_dir.join(format!("{scenario}.js")),
                    params: st.task.metric.params.clone(),
                    wasm: st.arms[ai].module.wasm.clone(),
                    glue: st.arms[ai].module.glue.clone(),
                    seed,
                    iterations: st.task.iterations,
                    warmup: st.task.warmup,
                    batch: cfg.protocol.batch,
                    fixed_batch: st.fixed_batch,
                    throttle: rate,
                    timeout: Duration::from_secs(cfg.protocol.scenario_timeout_s),
                    quantity: Quantity::for_unit(unit),
                    realm: if heap { format!("{}|{scenario}|{seed}|{round}|{ai}", st.index) } else { format!("{}|{scenario}|{seed}", st.index) },
                    pair,
                },
            ));
        }
    }
    // The page runs many blocks per call (each call costs a CDP round
    // trip): the task's first call is one block, which calibrates the batch
    // size and times a block; later calls take as many blocks as fit in
    // CALL_TARGET_S, so a hang is still noticed within a few blocks' time.
    const CALL_TARGET_S: f64 = 12.0;
    let mut planned = planned.into_iter().peekable();
    while planned.peek().is_some() {
        let take = match st.block_s {
            None => 1,
            Some(b) => ((CALL_TARGET_S / b.max(1e-3)) as usize).max(1),
        };
        let chunk: Vec<(usize, ScenarioRun)> = planned.by_ref().take(take).map(|(ai, mut r)| {
            r.fixed_batch = st.fixed_batch;
            (ai, r)
        }).collect();
        let runs: Vec<ScenarioRun> = chunk.iter().map(|(_, r)| r.clone()).collect();
        let t = std::time::Instant::now();
        let results = m.run_many(&runs);
        st.host_ms.extend(results.iter().find_map(|r| r.as_ref().ok().and_then(|o| o.host_ms)));
        if st.block_s.is_none() && results.iter().all(|r| r.is_ok()) {
            st.block_s = Some(t.elapsed().as_secs_f64() / runs.len() as f64);
        }
        take_results(st, m, si, seed, scenario, env, unit, chunk, results, progress)?;
    }
    Ok(())
}

/// File one call's results into the task's arms, retrying a failed run
/// once on its own.
#[allow(clippy::too_many_arguments)]
fn take_results(
    st: &mut TaskState,
    m: &mut dyn Measurer,
    si: usize,
    seed: u64,
    scenario: &str,
    env: &str,
    unit: &str,
    chunk: Vec<(usize, ScenarioRun)>,
    results: Vec<Result<ScenarioOutput>>,
    progress: &mut Progress,
) -> Result<()> {
    for ((ai, mut run), res) in chunk.into_iter().zip(results) {
        if st.arms[ai].role.is_base() && st.base_excluded.is_some() {
            continue;
        }
        let sent_batch = run.fixed_batch;
        run.fixed_batch = run.fixed_batch.or(st.fixed_batch);
        let role = st.arms[ai].role;
        let what = format!("scenario `{scenario}` for {} ({}, {env}, seed {seed}, {} build)", st.task.metric.id, st.task.profile, role.label());
        let res = res.or_else(|e| {
            eprintln!("budget: {what} failed: {e:#}; retrying once");
            let again = m.run(&run);
            if again.is_ok() {
                st.retried.push(format!("{what}: {e:#}"));
            }
            again
        });
        let mut out = match res {
            Ok(o) => o,
            Err(e) if role.is_base() => {
                let reason = format!("{what} failed twice: {e:#}");
                eprintln!("budget: {reason}; this comparison is not comparable");
                st.base_excluded = Some(reason);
                continue;
            }
            Err(e) => return Err(anyhow!("{what} failed twice: {e:#}")),
        };
        if out.quantity != run.quantity {
            bail!("scenario `{scenario}` recorded {:?} but {} needs {:?} samples", out.quantity, st.task.metric.id, run.quantity);
        }
        let partner = role.partner().and_then(|p| st.arms.iter().position(|a| a.role == p));
        let pair = match (run.pair.is_some(), partner, out.pair.take()) {
            (false, _, _) => None,
            (true, Some(pi), Some(p)) => Some((pi, *p)),
            (true, _, _) => bail!("{what} ran paired with its reference build but returned no samples of it"),
        };
        if let Some((_, p)) = &pair {
            // The statistics pair sample i of each side (`stats::paired_ratios`).
            if p.samples.len() != out.samples.len() {
                bail!("{what} recorded {} samples on its build but {} on its paired reference build: a relative metric's scenario records one sample on h and one on h.pair per round (SCENARIOS.md)", out.samples.len(), p.samples.len());
            }
        }
        file_block(st, ai, si, seed, &what, unit, sent_batch, out)?;
        progress.done += 1;
        if let Some((pi, p)) = pair {
            file_block(st, pi, si, seed, &format!("{what}, its paired reference build"), unit, sent_batch, p)?;
            progress.done += 1;
        }
    }
    Ok(())
}

/// File one block's samples into arm `ai`.
#[allow(clippy::too_many_arguments)]
fn file_block(st: &mut TaskState, ai: usize, si: usize, seed: u64, what: &str, unit: &str, sent_batch: Option<u32>, out: ScenarioOutput) -> Result<()> {
    if out.samples.is_empty() {
        bail!("{what} recorded no samples");
    }
    let samples: Vec<f64> = out.samples.iter().map(|v| out.quantity.to_unit(*v, unit)).collect();
    if let Some(bad) = samples.iter().find(|v| !v.is_finite() || **v < 0.0) {
        bail!("{what} recorded an impossible sample {bad}");
    }
    let fixed = sent_batch.or(st.fixed_batch);
    if let Some(n) = fixed.filter(|n| out.ops_per_sample > 1 && *n != out.ops_per_sample) {
        bail!("{what} timed batches of {} operations, but the task's batch is fixed at {n} (the scenario must size batches with h.calibrateBatch)", out.ops_per_sample);
    }
    if std::env::var_os("BUDGET_DEBUG_BLOCKS").is_some() {
        let mut v = samples.clone();
        let p50 = stats::quantile_in_place(&mut v, 0.5);
        let p95 = stats::quantile_in_place(&mut v, 0.95);
        // The medians of the block's first and second halves: a level that
        // holds for the whole block (the compile's luck) shows in both.
        let half = samples.len() / 2;
        let h1 = stats::quantile_in_place(&mut samples[..half].to_vec(), 0.5);
        let h2 = stats::quantile_in_place(&mut samples[half..].to_vec(), 0.5);
        eprintln!("block {} {} seed {seed} {}: p50 {p50:.5} p95 {p95:.5} batch {} halves {h1:.5} {h2:.5}", st.task.metric.id, st.task.profile, st.arms[ai].role.label(), out.ops_per_sample);
    }
    let arm = &mut st.arms[ai];
    arm.samples.seeds[si].push(samples);
    arm.ops.push(out.ops_per_sample.max(1));
    if out.ops_per_sample > 1 && st.fixed_batch.is_none() {
        st.fixed_batch = Some(out.ops_per_sample);
    }
    if !out.note.is_empty() || arm.note.is_empty() {
        arm.note = out.note;
    }
    if !out.parts.is_empty() {
        arm.parts[si] = out.parts;
    }
    Ok(())
}

/// An arm as the statistics read it: its samples, or for a relative metric
/// its per-round ratios to its reference (`stats::paired_ratios`).
fn view<'a>(arm: &'a Arm, reference: Option<&Arm>) -> Cow<'a, stats::ArmSamples> {
    match reference {
        None => Cow::Borrowed(&arm.samples),
        Some(r) => Cow::Owned(stats::paired_ratios(&arm.samples, &r.samples)),
    }
}

/// Reduce one task's samples to its figure, interval and comparison.
fn reduce(cfg: &Config, st: &TaskState, base: Option<&Base>, m: &dyn Measurer) -> Result<MetricResult> {
    let task = st.task;
    let metric = &task.metric;
    let stat = metric.statistic;
    let seeds = &cfg.protocol.seeds;
    let cand = st.arm(Role::Candidate).expect("candidate arm");
    let reference = st.arm(Role::Reference);
    let rng_seed = 0x5eed ^ st.index as u64;

    // Per seed: the figure, and the histogram of what it was computed from
    // (relative metrics: one value per round, this build's block statistic
    // in percent of the reference block's of the same round, so the
    // histogram's median minus 100 is the seed's overhead; see `stats.rs`
    // on paired rounds).
    // The per-seed value is read off the histogram (not the raw samples),
    // so a merge of shards recomputes exactly the same figure.
    let offset = if reference.is_some() { -100.0 } else { 0.0 };
    // A relative metric's arm is read through its per-round ratios to its
    // reference (`view`): sample i of each side ran next to the other's, in
    // one block. Read once here; the comparison with the base uses the same.
    let relative = reference.is_some();
    let seed_samples = |arm: &Arm, v: &stats::ArmSamples, si: usize| -> Result<Vec<f64>> {
        let seed = seeds[si];
        if v.seeds[si].iter().all(Vec::is_empty) {
            bail!("{}: seed {seed} has no {} samples", key_of(task), arm.role.label());
        }
        Ok(if relative {
            let rounds = stats::round_figures(&[v], si, stat, &|s| s[0]);
            if rounds.is_empty() {
                bail!("{}: seed {seed} has no round in which both the {} build and its reference ran", key_of(task), arm.role.label());
            }
            rounds
        } else {
            v.seeds[si].iter().flatten().copied().collect()
        })
    };
    let cand_view = view(cand, reference);
    // The base, read the same way; None when it cannot be compared.
    let base_view = match (st.arm(Role::Base), &st.base_excluded) {
        (Some(b), None) if !relative || st.arm(Role::BaseReference).is_some() => Some((b, view(b, st.arm(Role::BaseReference)))),
        _ => None,
    };
    let mut per_seed = Vec::new();
    let mut hists = Vec::new();
    for (si, &seed) in seeds.iter().enumerate() {
        let h = stats::histogram_of(&seed_samples(cand, &cand_view, si)?)?;
        per_seed.push(seed_value(seed, &h, stat, offset)?);
        hists.push(h);
    }
    // The base's distribution, the same way, for the report's overlay.
    let base_histogram = base_view.as_ref().and_then(|(b, bv)| {
        (0..seeds.len())
            .map(|si| seed_samples(b, bv, si).and_then(|v| stats::histogram_of(&v)))
            .collect::<Result<Vec<_>>>()
            .and_then(|hs| stats::merge(&hs))
            .and_then(|h| stats::encode(&h))
            .ok()
    });
    let value = gate_value(&per_seed).ok_or_else(|| anyhow!("no seeds configured"))?;
    let value_ci = match reference {
        None => stats::hierarchical_bootstrap(&[&cand.samples], stat, stats::REPLICATES, rng_seed, &|s| s[0]),
        Some(_) => stats::paired_bootstrap(&[&*cand_view], stat, stats::REPLICATES, rng_seed, &overhead_pct),
    }
    // The bootstrap reads raw samples and the value is read off the
    // histograms (3 significant digits), so the two can differ by one
    // bucket; the reported interval is the one around the reported value.
    .map(|ci| stats::Interval { point: value, lo: ci.lo.min(value), hi: ci.hi.max(value) });

    // Clock floor: the smallest timed statistic behind the figure, in ticks
    // of the page's clock (per operation for batched samples).
    let tick_ms = m.timer_resolution_ms(&metric.environment).filter(|t| *t > 0.0);
    let timed = !metric.is_heap();
    let (resolution_in_unit, clock_ticks) = match (tick_ms, timed) {
        (Some(tick), true) => {
            let unit = if metric.is_relative() { "ms" } else { metric.unit.as_str() };
            let tick_in_unit = Quantity::TimeMs.to_unit(tick, unit);
            let ticks = std::iter::once(cand)
                .chain(reference)
                .filter_map(|a| a.samples.gate_stat(stat).map(|v| v / (tick_in_unit / a.typical_ops() as f64)))
                .fold(f64::INFINITY, f64::min);
            // Relative metrics: the tick of the timed samples behind them, in ms.
            let res = Some(tick_in_unit / cand.typical_ops() as f64);
            (res, ticks.is_finite().then_some(ticks))
        }
        _ => (None, None),
    };

    let comparison = base.map(|b| compare(cfg, st, b, &cand_view, base_view.as_ref().map(|(_, v)| &**v), rng_seed ^ 0xab));
    let (heap_growth, parts_text) = if metric.is_heap() { heap_check(cand, &metric.unit) } else { (None, String::new()) };

    let ops = cand.typical_ops();
    let blocks_text = if metric.is_heap() {
        format!("{} warmup operations, then {} heap samples per seed", task.warmup, task.iterations)
    } else {
        format!(
            "{} samples per seed in {} blocks of {}{}",
            task.iterations * st.rounds,
            st.rounds,
            task.iterations,
            if st.extended { " (extended: inconclusive after the protocol's blocks)" } else { "" }
        )
    } + &parts_text;
    let figure_text = match reference {
        None => format!("{} per seed; gate value = median of the per-seed {}s", stat.name(), stat.name()),
        Some(_) => format!(
            "per block, this build and the same profile built without {} alternate batch by batch (ABBA), so the host's state hits both alike and cancels; each of this build's samples is divided by the other build's sample of the same round (a millisecond apart), and the block's overhead is the {s} of these ratios, minus 1, in percent; per seed the median over blocks; gate value = median over seeds",
            metric.reference_without.as_deref().unwrap_or_default().join(", "),
            s = stat.name()
        ),
    };
    let env_text = match cfg.environments.get(&metric.environment) {
        Some(e) if e.cpu_throttle > 1.0 => format!(", CDP CPU throttling calibrated to a {}x slowdown of a reference workload", e.cpu_throttle),
        _ => String::new(),
    };
    let method = format!(
        "{}. {blocks_text}{}; {figure_text} over seeds {:?}; 95 % interval by {}; arms interleaved in a seeded random order per round; environment {}{env_text}",
        cand.note,
        if ops > 1 { format!(", each sample the mean of a batch of {ops} operations (calibrated by the first block, then fixed for every block and arm)") } else { String::new() },
        seeds,
        if reference.is_some() { "bootstrap of paired rounds (seeds, then rounds with both blocks kept together)" } else { "hierarchical bootstrap (seeds, blocks, samples)" },
        metric.environment,
    );
    let merged = stats::merge(&hists)?;
    let Source::Scenario(scenario) = &metric.source else { bail!("not a scenario") };
    Ok(MetricResult {
        value,
        value_ci,
        per_seed,
        histogram: stats::encode(&merged)?,
        method,
        commands: vec![format!(
            "cargo xtask budget --profile {} --env {} (scenario {scenario}.js, {})",
            task.profile,
            metric.environment,
            m.describe(&metric.environment)
        )],
        artifact_paths: vec![st.artifact.clone()],
        resolution_in_unit,
        clock_ticks,
        comparison,
        heap_growth,
        retried: st.retried.clone(),
        fingerprint: None,
        statistic: stat,
        offset,
        base_histogram,
    })
}

/// Heap metrics: the growth check over each seed's window (`stats::
/// heap_growth`, in bytes), and the parts of the figure in words.
fn heap_check(cand: &Arm, unit: &str) -> (Option<stats::HeapGrowth>, String) {
    let per_byte = crate::size::bytes_in_unit(1.0, unit);
    let windows: Vec<Vec<f64>> = cand.samples.seeds.iter().map(|blocks| blocks.iter().flatten().map(|v| v / per_byte).collect()).collect();
    let mut names: Vec<String> = Vec::new();
    for (n, _) in cand.parts.iter().flatten() {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    let parts: Vec<(String, Vec<Vec<f64>>)> = names
        .iter()
        .map(|n| (n.clone(), cand.parts.iter().filter_map(|seed| seed.iter().find(|(m, _)| m == n).map(|(_, v)| v.clone())).collect()))
        .collect();
    let growth = stats::heap_growth(&windows, &parts);
    let p95s: Vec<String> = parts
        .iter()
        .map(|(n, seeds)| {
            let per_seed: Vec<f64> = seeds.iter().filter(|s| !s.is_empty()).map(|s| stats::quantile_in_place(&mut s.clone(), 0.95) * per_byte).collect();
            format!("{n} p95 {:.3} {unit}", stats::median(&per_seed).unwrap_or(f64::NAN))
        })
        .collect();
    let mut text = String::new();
    if !p95s.is_empty() {
        text.push_str(&format!(" (of which, medians over seeds: {})", p95s.join(", ")));
    }
    if let Some(g) = &growth {
        text.push_str(&format!(
            "; steady state checked: {} of {} seeds rise through all four quarters of the window ({:+.1} KiB per 100 operations; growing when most seeds rise by at least 128 KiB)",
            g.growing_seeds,
            g.seeds,
            g.bytes_per_100_ops / 1024.0
        ));
    }
    (growth, text)
}

/// An overhead in percent from the block statistic of a build's per-round
/// ratios to its reference (kept in percent of the reference).
fn overhead_pct(s: &[f64]) -> f64 {
    s[0] - 100.0
}

/// The live comparison of one task with its base.
/// `cand` and `base` are the arms as `reduce` reads them (a relative
/// metric's: its per-round ratios to the reference).
fn compare(cfg: &Config, st: &TaskState, b: &Base, cand: &stats::ArmSamples, base: Option<&stats::ArmSamples>, rng_seed: u64) -> Comparison {
    let metric = &st.task.metric;
    let stat = metric.statistic;
    let relative = metric.is_relative();
    let (measure, no_change, limit) = if relative {
        ("difference_pp", 0.0, cfg.comparison.regression_pp)
    } else {
        ("ratio", 1.0, 1.0 + cfg.escalation.baseline_regression_pct / 100.0)
    };
    let mut c = Comparison {
        base: b.origin.clone(),
        verdict: stats::AbVerdict::NotComparable,
        measure: measure.into(),
        base_value: None,
        estimate: None,
        limit,
        blocks: st.rounds,
        extended: st.extended,
        reason: String::new(),
        base_per_seed: vec![],
    };
    if let Some(why) = &st.base_excluded {
        c.reason = format!("not comparable: {why}");
        return c;
    }
    if st.arm(Role::Base).is_none() {
        c.reason = "not comparable: the base has no artifact for this profile".into();
        return c;
    }
    let Some(base) = base.filter(|_| !relative || st.arm(Role::Reference).is_some()) else {
        c.reason = "not comparable: a reference build is missing".into();
        return c;
    };
    let (estimate, base_value, base_per_seed) = if relative {
        // Both overheads in percent of their references, round by round.
        let est = stats::paired_bootstrap(&[cand, base], stat, stats::REPLICATES, rng_seed, &|s| s[0] - s[1]);
        let per: Vec<f64> = (0..base.seeds.len())
            .filter_map(|i| stats::median(&stats::round_figures(&[base], i, stat, &overhead_pct)))
            .collect();
        (est, stats::median(&per), per)
    } else {
        let est = stats::paired_bootstrap(&[cand, base], stat, stats::REPLICATES, rng_seed, &|s| s[0] / s[1]);
        let per: Vec<f64> = (0..base.seeds.len()).filter_map(|i| base.seed_stat(i, stat)).collect();
        (est, base.gate_stat(stat), per)
    };
    c.base_value = base_value;
    c.base_per_seed = base_per_seed;
    let Some(est) = estimate else {
        c.reason = "not comparable: too few samples for an interval".into();
        return c;
    };
    c.estimate = Some(est);
    c.verdict = stats::ab_verdict(&est, no_change, limit);
    c.reason = explain(&c, &est, relative);
    c
}

/// The comparison in words.
pub fn explain(c: &Comparison, est: &stats::Interval, relative: bool) -> String {
    let fig = if relative {
        format!("{:+.2} pp (95 % CI {:+.2} to {:+.2} pp)", est.point, est.lo, est.hi)
    } else {
        format!("x{:.3} (95 % CI x{:.3} to x{:.3})", est.point, est.lo, est.hi)
    };
    let limit = if relative { format!("+{} pp", c.limit) } else { format!("x{:.2}", c.limit) };
    let blocks = format!("{} block(s) per arm and seed{}", c.blocks, if c.extended { ", extended" } else { "" });
    match c.verdict {
        stats::AbVerdict::Regressed => format!("regressed against {}: {fig}; beyond the limit {limit} and the interval excludes no change ({blocks})", c.base),
        stats::AbVerdict::Unchanged => format!("unchanged against {}: {fig}; the interval stays within the limit {limit} ({blocks})", c.base),
        stats::AbVerdict::Inconclusive => {
            format!("inconclusive against {}: {fig}; the interval spans both no change and the limit {limit} after {blocks}", c.base)
        }
        stats::AbVerdict::NotComparable => c.reason.clone(),
    }
}

/// Fixed samples instead of a browser: the seam that lets the whole pipeline
/// (gate, ledger, reports, merge) run in tests on known numbers. Each
/// block's samples are a deterministic spread (+-10 %) around a centre that
/// depends on the scenario, times `slowdown` for modules whose path contains
/// `slow_marker` (an injected regression).
pub struct FixedMeasurer {
    pub slow_marker: Option<String>,
    pub slowdown: f64,
    pub calls: u64,
}

impl FixedMeasurer {
    pub fn new() -> FixedMeasurer {
        FixedMeasurer { slow_marker: None, slowdown: 1.0, calls: 0 }
    }
}

impl Default for FixedMeasurer {
    fn default() -> Self {
        Self::new()
    }
}

impl Measurer for FixedMeasurer {
    fn run_many(&mut self, runs: &[ScenarioRun]) -> Vec<Result<ScenarioOutput>> {
        runs.iter().map(|r| self.one(r)).collect()
    }

    fn timer_resolution_ms(&self, _env: &str) -> Option<f64> {
        Some(0.005)
    }
    fn prepare_environment(&mut self, _env: &str, configured: &crate::config::Environment) -> Result<EnvInfo> {
        Ok(EnvInfo { rate: configured.cpu_throttle, achieved: (configured.cpu_throttle > 1.0).then_some(configured.cpu_throttle) })
    }
    fn describe(&self, _env: &str) -> String {
        "fixed samples (no browser)".into()
    }
    fn fingerprint(&self, f: &mut crate::summary::Fingerprint) {
        f.chromium = "fixed samples (no browser)".into();
        f.timer_resolution_us = Some(5.0);
        f.cross_origin_isolated = Some(true);
    }
}

impl FixedMeasurer {
    /// One run's samples, spread evenly around the scenario's centre.
    fn one(&mut self, r: &ScenarioRun) -> Result<ScenarioOutput> {
        self.calls += 1;
        let centre = match r.quantity {
            Quantity::Bytes => 2.0 * 1024.0 * 1024.0,
            _ => match r.scenario.as_str() {
                "cold-init" | "builtin:cold-init" => 1.5,
                "cancel" => 0.02,
                _ => 0.0005,
            },
        };
        let mut rng = stats::SplitMix::new(r.seed ^ self.calls.wrapping_mul(0x9E37_79B9));
        let mut side = |wasm: &std::path::Path| {
            let slow = self.slow_marker.as_ref().is_some_and(|m| wasm.display().to_string().contains(m.as_str()));
            let centre = centre * if slow { self.slowdown } else { 1.0 };
            let samples = (0..r.iterations).map(|_| centre * (0.9 + 0.2 * (rng.next_u64() % 10_000) as f64 / 10_000.0)).collect();
            let batched = r.quantity == Quantity::TimeMs && centre < 0.1;
            ScenarioOutput { quantity: r.quantity, samples, ops_per_sample: if batched { 512 } else { 1 }, note: format!("fixed samples around {centre}"), parts: vec![], pair: None, host_ms: None }
        };
        let mut out = side(&r.wasm);
        out.pair = r.pair.as_ref().map(|p| Box::new(side(&p.wasm)));
        Ok(out)
    }
}

use std::io::IsTerminal;

/// Progress of the measure stage: an in-place bar with an ETA on a
/// terminal, one line per finished seed otherwise (CI logs).
struct Progress {
    done: usize,
    total: usize,
    started: std::time::Instant,
}

impl Progress {
    fn line(&self, line: &str) {
        let elapsed_s = self.started.elapsed().as_secs_f64();
        let (done, total) = (self.done.min(self.total), self.total);
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
            eprintln!("budget: [{done:>4}/{total} blocks] {line} ({elapsed_s:.0}s elapsed)");
        }
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

}
