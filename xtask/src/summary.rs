//! The summary record (README, "What each output file means"): one per profile x environment x
//! metric, plus the run header. This is the gate's data contract; the JSON
//! Schema in `reports/summary.schema.json` describes it and a test validates
//! real output against it.

pub use crate::gate::{ClockCheck, Comparison};
use crate::gate::{Status, Verdict};
pub use crate::stats::HistogramBlob;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bump when a field changes meaning or disappears.
/// 2: live comparisons (`comparison`), value intervals, clock checks and
/// calibrated throttling replaced the noise-based baseline rule.
/// 3: the fingerprint's per-environment figures are one map,
/// `environments`, instead of six maps keyed alike.
pub const SCHEMA_VERSION: u32 = 3;

/// Where a run's figures were taken.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The rustc that built the subject (`rustc --version`).
    pub rustc: String,
    /// The binaryen the optimizer links (its release and the `wasm-opt` crate version).
    pub binaryen: String,
    /// Browser product/version, or empty when no browser stage ran.
    pub chromium: String,
    /// `launched` or the DevTools websocket URL of a remote browser.
    pub browser_origin: String,
    /// The host: its name, OS and architecture.
    pub host: String,
    /// Logical CPUs the host offers.
    pub cpus: usize,
    /// How each measured environment was set up and measured.
    #[serde(default)]
    pub environments: BTreeMap<String, EnvFingerprint>,
    /// Smallest nonzero step of `performance.now()` seen in the page, in us.
    pub timer_resolution_us: Option<f64>,
    /// Whether Chromium's page was cross-origin isolated (COOP/COEP), which sets its timer resolution.
    pub cross_origin_isolated: Option<bool>,
}

/// One measured environment in the fingerprint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvFingerprint {
    /// Target CPU slowdown (1 = none), from budgets.toml.
    pub throttle: f64,
    /// The throttling rate applied after calibration.
    pub throttle_rate: Option<f64>,
    /// The slowdown of the reference workload that rate achieved.
    pub throttle_achieved: Option<f64>,
    /// V8 flags beyond the harness's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub js_flags: Vec<String>,
    /// The browser that measured it, with its page's clock (Chromium and
    /// Firefox environments differ in all three).
    pub browser: Option<EnvBrowser>,
    /// How fast the page's CPU was while it measured (one of the things
    /// that move absolute timings between runs; the live comparisons,
    /// measured side by side, do not depend on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_speed: Option<HostSpeed>,
}

/// The host's speed over one environment's measuring: the time of the
/// page's reference workload (fixed integer work, throttled as the
/// environment is), taken at the start of every call that ran blocks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostSpeed {
    /// The median reading, in ms.
    pub median_ms: f64,
    /// The fastest reading, in ms.
    pub min_ms: f64,
    /// The slowest reading, in ms.
    pub max_ms: f64,
    /// How many calls took a reading.
    pub calls: usize,
}

impl HostSpeed {
    /// The summary of one environment's readings; None without any.
    pub fn of(readings: &[f64]) -> Option<HostSpeed> {
        let finite: Vec<f64> = readings.iter().copied().filter(|x| x.is_finite()).collect();
        Some(HostSpeed {
            median_ms: crate::stats::median(&finite)?,
            min_ms: finite.iter().copied().fold(f64::INFINITY, f64::min),
            max_ms: finite.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            calls: finite.len(),
        })
    }

    /// In words, for reports: `median 9.8 ms (9.1-14.2 over 230 calls)`.
    pub fn text(&self) -> String {
        format!(
            "median {:.1} ms ({:.1}-{:.1} over {} calls)",
            self.median_ms, self.min_ms, self.max_ms, self.calls
        )
    }
}

/// The browser of one measured environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvBrowser {
    /// `chromium` or `firefox` (budgets.toml's `browser`).
    pub kind: String,
    /// Product and version, as the browser reports them.
    pub product: String,
    /// How the gate drives it: `CDP` or `WebDriver BiDi`.
    pub protocol: String,
    /// The smallest nonzero step of the page's `performance.now()`, in us.
    pub timer_resolution_us: Option<f64>,
    /// Whether the page was cross-origin isolated (COOP/COEP).
    pub cross_origin_isolated: Option<bool>,
}

impl EnvBrowser {
    /// A measurer's browser, from its page's timer step in milliseconds.
    pub fn new(
        kind: &str,
        product: &str,
        protocol: &str,
        timer_resolution_ms: Option<f64>,
        cross_origin_isolated: Option<bool>,
    ) -> EnvBrowser {
        EnvBrowser {
            kind: kind.into(),
            product: product.into(),
            protocol: protocol.into(),
            timer_resolution_us: timer_resolution_ms.map(|r| r * 1000.0),
            cross_origin_isolated,
        }
    }
}

/// Value of one seed's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedValue {
    /// The seed (one of `protocol.seeds`).
    pub seed: u64,
    /// The seed's figure (p95, or the median for a relative overhead), in the metric's unit.
    pub value: f64,
    /// Samples recorded for the seed (this arm, after any warm-up).
    pub samples: u64,
    /// The seed's samples (HdrHistogram V2 deflate, base64), so shards merge exactly.
    pub histogram: HistogramBlob,
}

/// One record: profile x environment x metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Git commit the figures were measured at (`-dirty` when uncommitted).
    pub commit: String,
    /// The profile (`profiles/<name>.toml`).
    pub profile: String,
    /// `size` for size metrics, else the measurement environment.
    pub environment: String,
    /// The metric's id in budgets.toml (`M-PERF-01A`).
    pub metric_id: String,
    /// The metric's name in words.
    pub metric_name: String,
    /// Gate value in `unit`; null when it could not be measured.
    pub value: Option<f64>,
    /// The unit of `value` and the thresholds (`KiB`, `ms`, `us`, `MiB`, `%`, `crates`).
    pub unit: String,
    /// The warn line in `unit`, when the metric has a warn band.
    pub threshold_warn: Option<f64>,
    /// The hard cap in `unit`.
    pub threshold_hard: f64,
    /// `hard` or `warn-then-block`.
    pub kind: String,
    /// `pass`, `accepted` (a regression within a `Budget-Accept:` bound), `warn` or `fail`.
    pub status: Status,
    /// Seeds the figure was measured with (empty for sizes).
    pub seed_set: Vec<u64>,
    /// Commands that produced the figure.
    pub commands: Vec<String>,
    /// Files the figure was measured on.
    pub artifact_paths: Vec<String>,
    /// How the value was computed, in words.
    pub method: String,
    /// Per-seed values and histograms (latency, heap).
    pub per_seed: Vec<SeedValue>,
    /// All seeds merged (exact merge of the per-seed histograms).
    pub histogram: Option<HistogramBlob>,
    /// The verdict in full: band, streak, delta against the base, acceptance, and the reasons in words.
    pub verdict: Verdict,
    /// Baseline value this run was compared against.
    pub baseline_value: Option<f64>,
    /// Top size contributors against the baseline (size metrics).
    #[serde(default)]
    pub contributors: Vec<String>,
    /// Where the figure was measured (a merged record keeps its shard's).
    pub fingerprint: Fingerprint,
    /// The value's 95 % interval (timings and heap; hierarchical bootstrap).
    #[serde(default)]
    pub value_ci: Option<crate::stats::Interval>,
    /// The figure against the page's clock (timings).
    #[serde(default)]
    pub clock: Option<ClockCheck>,
    /// The live comparison with the base (timings, when there is a base).
    #[serde(default)]
    pub comparison: Option<Comparison>,
    /// Heap metrics: whether the "steady state" kept growing.
    #[serde(default)]
    pub heap_growth: Option<crate::stats::HeapGrowth>,
    /// Scenario runs behind this figure that failed on their first try
    /// and passed on the retry (a warn: the figure is the retry's).
    #[serde(default)]
    pub retried: Vec<String>,
    /// What measuring this figure cost (timings and heap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    /// What the figure is a function of: a hash of the shipped bytes and
    /// glue, the scenario and harness, the metric's spec, the protocol, the
    /// environment's settings, the browser's version, the host's hardware
    /// and the gate's measuring code (timings and heap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Set when the figure was not measured by this run but taken from an
    /// earlier run that measured the same identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused: Option<Provenance>,
}

/// Where a reused figure was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The ledger id of the run that measured it.
    pub run: String,
    /// The commit that run measured.
    pub commit: String,
    /// When that run started, in seconds since the Unix epoch.
    pub started_unix_s: u64,
}

impl Provenance {
    /// In words, for reports: `reused from run 1765…-12 (commit 3f2a1b4c5d6e, 2026-12-07 06:10 UTC)`.
    pub fn text(&self) -> String {
        format!(
            "reused from run {} (commit {}, {})",
            self.run,
            crate::util::short(&self.commit),
            crate::util::utc(self.started_unix_s)
        )
    }
}

/// What measuring cost, measured: the seconds inside the timed windows
/// the protocol asks for, against the wall-clock seconds of the page calls
/// that ran the blocks (and, per environment, of preparing its browser).
/// Everything outside the windows is overhead: round trips, realm set-up,
/// fetching and compiling modules, warm-ups, untimed samples, GC.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Cost {
    /// Seconds inside timed windows, over every arm (paired reference
    /// builds included). Heap samples time nothing.
    pub timed_s: f64,
    /// Wall seconds of the page calls that ran the blocks (retries too).
    pub measuring_s: f64,
    /// Per environment: wall seconds preparing it (starting the browser,
    /// V8-flag restarts, throttle calibration). 0 per metric.
    #[serde(default)]
    pub setup_s: f64,
}

impl Cost {
    pub fn wall_s(&self) -> f64 {
        self.measuring_s + self.setup_s
    }
    /// Wall seconds per timed second (None without timed windows).
    pub fn ratio(&self) -> Option<f64> {
        (self.timed_s > 0.0).then(|| self.wall_s() / self.timed_s)
    }
    pub fn add(&mut self, o: &Cost) {
        self.timed_s += o.timed_s;
        self.measuring_s += o.measuring_s;
        self.setup_s += o.setup_s;
    }
    /// `120 s (54 s in timed windows, x2.22)`.
    pub fn text(&self) -> String {
        match self.ratio() {
            Some(r) => format!(
                "{:.0} s ({:.0} s in timed windows, x{r:.2})",
                self.wall_s(),
                self.timed_s
            ),
            None => format!("{:.0} s (no timed windows)", self.wall_s()),
        }
    }
}

/// One run's summary file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The summary's schema version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// `ok` for a completed run; `error` when the gate could not do its job;
    /// `incomplete` while a run is under way, and what a killed one leaves.
    pub outcome: String,
    /// The worst of the records' statuses; None when the run did not finish.
    pub status: Option<Status>,
    /// The subject's git commit (`-dirty` when its tree had uncommitted changes).
    pub commit: String,
    /// When the run started, in seconds since the Unix epoch.
    pub started_unix_s: u64,
    /// The run's wall time, in seconds.
    pub wall_s: f64,
    /// Quick runs use fewer iterations and never gate or bless.
    pub quick: bool,
    /// Whether the run gated: escalated on the ledger and appended to it (every run but `--quick`).
    pub gating: bool,
    /// Profiles and environments this (possibly sharded) run covered.
    pub profiles: Vec<String>,
    /// Environments this (possibly sharded) run covered (`size` for a size-only run).
    pub environments: Vec<String>,
    /// Where the run's figures were taken.
    pub fingerprint: Fingerprint,
    /// One record per profile x environment x metric, plus one dependency record per profile.
    pub records: Vec<Record>,
    /// Per-profile size detail (all four sizes), artifacts and features.
    pub artifacts: Vec<ArtifactInfo>,
    /// What went wrong when outcome is `error` or `incomplete`, in words.
    #[serde(default)]
    pub error: Option<String>,
    /// Statuses of earlier runs from the ledger, oldest first.
    #[serde(default)]
    pub trend: Vec<TrendPoint>,
    /// The protocol the timings were measured with (None when no browser
    /// stage ran). Shards must agree on it to be merged.
    #[serde(default)]
    pub protocol: Option<ProtocolUsed>,
    /// What measuring cost, per environment (see [`Cost`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cost: BTreeMap<String, Cost>,
    /// The `Budget-Accept:` trailers of the commits between the base and
    /// the candidate, oldest first, whether or not a key needed them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acceptances: Vec<crate::accept::Acceptance>,
}

/// The parts of `[protocol]` that decide what a timing figure means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProtocolUsed {
    /// The seeds, in order.
    pub seeds: Vec<u64>,
    /// Latency samples per seed and arm.
    pub latency_iterations: u32,
    /// Heap: operations before the first sample.
    pub heap_warmup: u32,
    /// Heap: samples after the warm-up.
    pub heap_samples: u32,
    /// Blocks per seed and arm before any extension.
    pub blocks: u32,
}

impl ProtocolUsed {
    pub fn of(p: &crate::config::Protocol) -> ProtocolUsed {
        ProtocolUsed {
            seeds: p.seeds.clone(),
            latency_iterations: p.latency_iterations,
            heap_warmup: p.heap_warmup,
            heap_samples: p.heap_samples,
            blocks: p.blocks,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    /// The ledger id of the run.
    pub run: String,
    /// The commit it gated.
    pub commit: String,
    /// Its overall status.
    pub status: Status,
}

/// What the size and optimize stages produced for one profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactInfo {
    /// The profile.
    pub profile: String,
    /// The module cargo built, before optimization (path relative to the project).
    pub input: String,
    /// The shipped module (after wasm-opt), which the sizes measure.
    pub shipped: String,
    /// The named twin of the shipped module, for attribution.
    pub named_twin: String,
    /// Raw, gzip, brotli and stripped sizes of the shipped module, in bytes.
    pub sizes: crate::size::Sizes,
    /// Raw bytes of the pre-optimization input (what wasm-opt saved).
    pub input_raw_bytes: u64,
    /// The cargo features the profile builds with.
    pub features: Vec<String>,
    /// The cargo command that built it, as a user would type it.
    pub build_command: String,
    /// The rustup toolchain that built this profile, and why that one.
    #[serde(default)]
    pub toolchain: String,
    /// `rustc --version` of it.
    #[serde(default)]
    pub rustc: String,
    /// The wasm-opt settings that optimized it.
    pub optimize_command: String,
    /// Whether the optimizer's output came from its cache (same input bytes and settings).
    pub optimize_cached: bool,
    /// JS glue next to the wasm (wasm-bindgen subjects), raw and gzip.
    #[serde(default)]
    pub js_glue: Option<(u64, u64)>,
    /// Attribution report files, when attribution ran.
    #[serde(default)]
    pub attribution: Vec<String>,
    /// The wasm dependency closure this profile resolved, when budgets.toml
    /// has a `[dependencies]` policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<crate::closure::Closure>,
}

/// The `outcome` a run writes when it starts, so a run killed before its
/// reports (`kill -9`, a lost runner) leaves this behind and never an
/// earlier run's green.
pub const INCOMPLETE: &str = "incomplete";

impl Summary {
    /// The summary a run writes when it starts: no records, outcome
    /// `incomplete`. The run's own reports replace it when it ends.
    pub fn incomplete(commit: String, started: u64) -> Summary {
        Summary {
            outcome: INCOMPLETE.into(),
            error: Some(format!(
                "this run (process {}, started at unix time {started}) has not finished; if no gate is running now, it was killed or crashed before it wrote its reports",
                std::process::id()
            )),
            ..Summary::error(commit, started, String::new())
        }
    }

    /// For the reports of a run without figures: the word of its status
    /// pill and what happened, or None for a finished run.
    pub fn unfinished(&self) -> Option<(&'static str, &'static str)> {
        match (self.outcome.as_str(), &self.error) {
            (INCOMPLETE, _) => Some(("incomplete", "did not finish")),
            (_, Some(_)) => Some(("error", "could not do its job")),
            _ => None,
        }
    }

    /// A summary for a run that could not finish. Carries no records, so it
    /// can never be read as a pass.
    pub fn error(commit: String, started: u64, message: String) -> Summary {
        Summary {
            schema_version: SCHEMA_VERSION,
            outcome: "error".into(),
            status: None,
            commit,
            started_unix_s: started,
            wall_s: 0.0,
            quick: false,
            gating: false,
            profiles: vec![],
            environments: vec![],
            fingerprint: Fingerprint::default(),
            records: vec![],
            artifacts: vec![],
            error: Some(message),
            trend: vec![],
            protocol: None,
            cost: BTreeMap::new(),
            acceptances: vec![],
        }
    }
}
