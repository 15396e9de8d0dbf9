//! The files as written: `budgets.toml` and `profiles/*.toml`, every table
//! refusing unknown keys. `mod.rs` holds the validated view built from them.

use super::*;

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
    /// unit of repetition of the comparison statistics (`stats/`).
    #[serde(default = "default_blocks")]
    pub blocks: u32,
    /// A per-seed figure below this many ticks of the page's clock (per
    /// operation, for batched samples) is unresolved: missing data, a fail.
    #[serde(default = "default_clock_floor_ticks")]
    pub clock_floor_ticks: f64,
}

fn default_blocks() -> u32 {
    Protocol::default().blocks
}

fn default_clock_floor_ticks() -> f64 {
    Protocol::default().clock_floor_ticks
}

/// The protocol's figures: what `init` writes, what a key left out of
/// budgets.toml defaults to, and what the errors suggest. The one place
/// they are written.
impl Default for Protocol {
    fn default() -> Protocol {
        Protocol {
            seeds: vec![11, 29, 42, 73, 101],
            latency_iterations: 2000,
            heap_warmup: 200,
            heap_samples: 500,
            batch: 512,
            quick_iterations: 200,
            scenario_timeout_s: 180,
            blocks: 8,
            clock_floor_ticks: 10.0,
        }
    }
}

impl Protocol {
    /// As a `[protocol]` table of budgets.toml.
    pub fn toml(&self) -> String {
        format!(
            "[protocol]\nseeds = {:?}\nlatency_iterations = {}\nheap_warmup = {}\nheap_samples = {}\nbatch = {}\nquick_iterations = {}\nscenario_timeout_s = {}\nblocks = {}\nclock_floor_ticks = {}\n",
            self.seeds,
            self.latency_iterations,
            self.heap_warmup,
            self.heap_samples,
            self.batch,
            self.quick_iterations,
            self.scenario_timeout_s,
            self.blocks,
            self.clock_floor_ticks
        )
    }
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
    /// Injections into the other timed paths, per metric id, for
    /// `calibrate --metric <id>`: each its own feature and variable.
    #[serde(default)]
    pub metrics: BTreeMap<String, Injection>,
}

/// Busy work injected into one timed path (`[calibration.metrics]`).
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Injection {
    pub feature: String,
    pub env: String,
    #[serde(default = "one")]
    pub steps_per_us: f64,
}

impl Calibration {
    /// The calibration of metric `id`: the default one, or the injection
    /// `[calibration.metrics]` names for it.
    pub fn for_metric(&self, id: &str) -> Option<Calibration> {
        if id == self.metric {
            return Some(self.clone());
        }
        let i = self.metrics.get(id)?;
        Some(Calibration {
            feature: i.feature.clone(),
            env: i.env.clone(),
            steps_per_us: i.steps_per_us,
            metric: id.to_string(),
            metrics: BTreeMap::new(),
        })
    }

    /// Every metric with an injection, the default first.
    pub fn injected(&self) -> Vec<&str> {
        std::iter::once(self.metric.as_str())
            .chain(self.metrics.keys().map(String::as_str))
            .collect()
    }
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
        Comparison {
            extend_budget_s: default_extend_budget_s(),
            regression_pp: default_regression_pp(),
        }
    }
}

fn default_extend_budget_s() -> u64 {
    120
}

fn default_regression_pp() -> f64 {
    3.0
}

/// The escalation rules' figures: what `init` writes (the one place they
/// are written).
impl Default for Escalation {
    fn default() -> Escalation {
        Escalation {
            consecutive_warns_to_fail: 2,
            ledger_window: 8,
            baseline_regression_pct: 10.0,
        }
    }
}

impl Escalation {
    /// As an `[escalation]` table of budgets.toml.
    pub fn toml(&self) -> String {
        format!(
            "[escalation]\nconsecutive_warns_to_fail = {}\nledger_window = {}\nbaseline_regression_pct = {:?}\n",
            self.consecutive_warns_to_fail, self.ledger_window, self.baseline_regression_pct
        )
    }
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

/// What an engine can do, as data: config validation reads it, so a metric
/// or environment that needs what its engine lacks is refused at load, and
/// nothing else branches on the engine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capabilities {
    /// Slowing the page's CPU (CDP's `Emulation.setCPUThrottlingRate`).
    pub cpu_throttle: bool,
    /// Engine flags an environment passes (`js_flags`: V8's).
    pub js_flags: bool,
    /// A forced full collection on demand (`gc()`), before cold samples
    /// and heap samples.
    pub forced_gc: bool,
    /// A precise JS heap figure (`performance.memory`).
    pub js_heap: bool,
    /// The page clock's step when cross-origin isolated, in microseconds.
    pub clock_us: f64,
    /// The flag that names a browser of this engine started elsewhere
    /// (`--browser-ws`), if the gate can measure one.
    pub remote_flag: Option<&'static str>,
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
    /// WebKit (JavaScriptCore) over classic WebDriver: WebKitGTK on a
    /// virtual display, or Safari through `--webdriver-url`
    /// (`browser/webkit.rs`).
    Webkit,
}

impl BrowserKind {
    /// The engine's capabilities (the one table of them).
    pub fn capabilities(self) -> Capabilities {
        match self {
            BrowserKind::Chromium => Capabilities {
                cpu_throttle: true,
                js_flags: true,
                forced_gc: true,
                js_heap: true,
                clock_us: 5.0,
                remote_flag: Some("--browser-ws"),
            },
            BrowserKind::Firefox => Capabilities {
                cpu_throttle: false,
                js_flags: false,
                forced_gc: false,
                js_heap: false,
                clock_us: 20.0,
                remote_flag: None,
            },
            // No gc(), no performance.memory, no throttling (checked in
            // WebKitGTK 2.50: `JSC_useDollarVM` is refused in release builds).
            BrowserKind::Webkit => Capabilities {
                cpu_throttle: false,
                js_flags: false,
                forced_gc: false,
                js_heap: false,
                clock_us: 20.0,
                remote_flag: Some("--webdriver-url"),
            },
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BrowserKind::Chromium => "chromium",
            BrowserKind::Firefox => "firefox",
            BrowserKind::Webkit => "webkit",
        }
    }

    /// The product, as a sentence names it.
    pub fn product(self) -> &'static str {
        match self {
            BrowserKind::Chromium => "Chromium",
            BrowserKind::Firefox => "Firefox",
            BrowserKind::Webkit => "WebKit",
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
    /// Heap metrics: what the figure covers: `"js-heap+wasm-memory"` (the
    /// default: the JS heap after a forced GC plus the linear memory) or
    /// `"wasm-memory"` (the linear memory alone, which needs no GC and no
    /// engine extension, so every engine can measure it).
    #[serde(default)]
    pub covers: Option<Spanned<String>>,
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
    /// `builtin:heap`: the calls one operation makes, each once, in a
    /// seeded order (a soak of the crate's API), instead of one `call`.
    #[serde(default)]
    pub soak: Option<Spanned<Vec<crate::builtin::CallSpec>>>,
    /// `builtin:tests`: the test target (and the tests) a pass runs.
    #[serde(default)]
    pub tests: Option<Spanned<crate::builtin::TestsSpec>>,
    /// Timings: blocks per seed and arm for this metric, instead of
    /// `[protocol] blocks` (the same samples per seed, in more, smaller
    /// blocks: a key whose blocks are cheap and whose spread is between
    /// blocks narrows its interval this way).
    #[serde(default)]
    pub blocks: Option<Spanned<u32>>,
}

// Profiles.

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
pub const CARGO_SETTINGS: &[&str] = &[
    "inherits",
    "opt-level",
    "debug",
    "strip",
    "debug-assertions",
    "overflow-checks",
    "lto",
    "panic",
    "incremental",
    "codegen-units",
];

pub const UNITS: &[&str] = &["bytes", "KiB", "MiB", "ms", "us", "%"];
/// Units of a scenario metric that make it a heap probe (`Quantity::for_unit`).
pub(super) const HEAP_UNITS: &[&str] = &["bytes", "KiB", "MiB"];
pub const SIZE_SOURCES: &[&str] = &["size.raw", "size.gzip", "size.brotli", "size.stripped"];
