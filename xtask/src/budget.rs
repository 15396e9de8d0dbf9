//! `cargo xtask budget` / `size` / `merge`: the pipeline in one place.
//!
//! build -> optimize -> size -> attribute -> measure -> gate -> report.
//! Only build, optimize and measure touch the outside world; `assemble`
//! turns plain figures into records with the pure gate.

use crate::attribute;
use crate::build;
use crate::config::{self, Config, MetricSpec, Source};
use crate::gate::{self, BaselinePoint, Status};
use crate::ledger::{self, Entry, Ledger, Run};
use crate::measure::{self, Measured};
use crate::optimize;
use crate::report;
use crate::size;
use crate::summary::{ArtifactInfo, Fingerprint, Record, Summary, TrendPoint, SCHEMA_VERSION};
use crate::util::{git_commit, project_root, write_atomic};
use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Command-line options of `budget` and `size`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Run the browser stage (`budget`), or only the size half (`size`).
    pub browser: bool,
    pub budgets: PathBuf,
    pub reports: PathBuf,
    pub profiles: Vec<String>,
    pub envs: Vec<String>,
    pub quick: bool,
    pub bless: bool,
    pub browser_ws: Option<String>,
}

impl Options {
    pub fn parse(args: &[String], browser: bool) -> Result<Options> {
        let root = project_root();
        let mut o = Options {
            browser,
            budgets: root.join("budgets.toml"),
            reports: root.join("reports"),
            profiles: vec![],
            envs: vec![],
            quick: false,
            bless: false,
            browser_ws: None,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut val = |flag: &str| it.next().cloned().ok_or_else(|| anyhow!("{flag} needs a value"));
            match a.as_str() {
                "--budgets" => o.budgets = PathBuf::from(val(a)?),
                "--reports" => o.reports = PathBuf::from(val(a)?),
                "--profile" => o.profiles.push(val(a)?),
                "--env" => o.envs.push(val(a)?),
                "--browser-ws" => o.browser_ws = Some(val(a)?),
                "--quick" => o.quick = true,
                "--bless" => o.bless = true,
                other => bail!("unknown option `{other}` (see `cargo xtask help`)"),
            }
        }
        if o.quick && o.bless {
            bail!("--quick runs never bless a baseline: drop --quick to bless");
        }
        if !browser && (!o.envs.is_empty() || o.quick || o.browser_ws.is_some()) {
            bail!("--env, --quick and --browser-ws belong to `budget`, not `size`");
        }
        Ok(o)
    }
}

fn now_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Entry point of `budget` and `size`. On any error the old summary is
/// replaced by an error summary (no records), so nothing stale reads as a pass.
pub fn run(opts: Options) -> Result<u8> {
    let started = now_s();
    let reports = opts.reports.clone();
    match run_inner(&opts, started) {
        Ok(code) => Ok(code),
        Err(e) => {
            let root = opts.budgets.parent().map(Path::to_path_buf).unwrap_or_else(project_root);
            let s = Summary::error(git_commit(&root), started, format!("{e:#}"));
            if let Ok(text) = serde_json::to_string_pretty(&s) {
                let _ = write_atomic(&reports.join("summary.json"), text.as_bytes());
            }
            Err(e)
        }
    }
}

/// Everything the size half produced for one profile.
pub struct ProfileArtifacts {
    pub info: ArtifactInfo,
    pub shipped: PathBuf,
    pub named: PathBuf,
    /// The wasm-bindgen JS glue, for wasm-bindgen subjects.
    pub glue: Option<PathBuf>,
    pub attribution: Option<attribute::Attribution>,
}

fn run_inner(opts: &Options, started: u64) -> Result<u8> {
    let t0 = Instant::now();
    let cfg = config::load(&opts.budgets)?;
    let profiles = select(&cfg.profiles.iter().map(|p| p.name.clone()).collect::<Vec<_>>(), &opts.profiles, "profile")?;
    let envs: Vec<String> = if opts.browser {
        select(&cfg.environments.keys().cloned().collect::<Vec<_>>(), &opts.envs, "environment")?
    } else {
        vec![]
    };
    // The subject's commit (budgets.toml may live elsewhere, e.g. in CI config).
    let commit = git_commit(cfg.manifest.parent().unwrap_or(&cfg.root));
    std::fs::create_dir_all(&opts.reports)?;

    // build -> optimize -> size -> attribute, per profile.
    build::ensure_target(&cfg.root)?;
    let baseline = load_baseline(&opts.reports)?;
    let mut arts = Vec::new();
    for name in &profiles {
        arts.push(size_half(&cfg, name, &opts.reports, baseline.as_ref())?);
    }

    // measure.
    let metrics: Vec<&MetricSpec> = cfg
        .metrics
        .iter()
        .filter(|m| match &m.source {
            Source::Size(_) => true,
            Source::Scenario(_) => opts.browser && envs.contains(&m.environment),
        })
        .collect();
    let mut fingerprint = Fingerprint {
        rustc: rustc_version(&cfg.root),
        binaryen: optimize::binaryen_version().into(),
        host: host_name(),
        cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        ..Default::default()
    };
    let measured = if opts.browser && metrics.iter().any(|m| matches!(m.source, Source::Scenario(_))) {
        let plan = measure::plan(&cfg, &metrics, &profiles, opts.quick);
        let mut m = crate::browser::BrowserMeasurer::start(&cfg, opts.browser_ws.as_deref())?;
        let out = measure::run(&cfg, &plan, &arts, &mut m)?;
        m.fingerprint(&mut fingerprint);
        out
    } else {
        Measured::default()
    };
    for (name, env) in &cfg.environments {
        if envs.contains(name) {
            fingerprint.throttle.insert(name.clone(), measured.throttle.get(name).copied().unwrap_or(env.cpu_throttle));
        }
    }

    // gate (under the ledger lock, unless quick) -> report.
    let gating = !opts.quick;
    let ledger_path = opts.reports.join("ledger.json");
    let infos: Vec<ArtifactInfo> = arts.iter().map(|a| a.info.clone()).collect();
    let contributors_of = |p: &str| {
        arts.iter()
            .find(|a| a.info.profile == p)
            .and_then(|a| a.attribution.as_ref())
            .map(|a| a.top_contributors(5))
            .unwrap_or_default()
    };
    let assemble_with = |ledger: &Ledger| {
        assemble(&cfg, &metrics, &profiles, &infos, &contributors_of, &measured, ledger, baseline.as_ref(), &commit, &fingerprint)
    };
    let (records, ledger) = if gating {
        let run_id = format!("{started}-{}", std::process::id());
        let (ledger, records) = ledger::update(&ledger_path, cfg.escalation.ledger_window, |l| {
            let records = assemble_with(l);
            let run = Run {
                id: run_id.clone(),
                started_unix_s: started,
                commit: commit.clone(),
                status: gate::overall(records.iter().map(|r| r.status)),
                fingerprint: fingerprint.clone(),
                entries: records
                    .iter()
                    .map(|r| {
                        (
                            ledger::key(&r.metric_id, &r.profile, &r.environment),
                            Entry { value: r.value, status: r.status, in_warn_band: r.verdict.in_warn_band },
                        )
                    })
                    .collect(),
            };
            Ok((run, records))
        })?;
        (records, ledger)
    } else {
        let l = Ledger::load(&ledger_path)?;
        (assemble_with(&l), l)
    };

    let status = gate::overall(records.iter().map(|r| r.status));
    let summary = Summary {
        schema_version: SCHEMA_VERSION,
        outcome: "ok".into(),
        status: Some(status),
        commit: commit.clone(),
        started_unix_s: started,
        wall_s: t0.elapsed().as_secs_f64(),
        quick: opts.quick,
        gating,
        profiles: profiles.clone(),
        environments: if opts.browser { envs.clone() } else { vec!["size".into()] },
        fingerprint,
        records,
        artifacts: infos.clone(),
        error: None,
        trend: ledger
            .trend(cfg.escalation.ledger_window)
            .into_iter()
            .map(|r| TrendPoint { run: r.id.clone(), commit: r.commit.clone(), status: r.status })
            .collect(),
    };
    let hist_for_html = measured.histograms_for_report();
    report::write_all(&summary, &opts.reports, &ledger, &arts, &hist_for_html)?;

    if opts.bless {
        bless(&summary, &arts, &opts.reports)?;
    }
    Ok(if status == Status::Fail { 1 } else { 0 })
}

fn select(all: &[String], wanted: &[String], what: &str) -> Result<Vec<String>> {
    if wanted.is_empty() {
        return Ok(all.to_vec());
    }
    for w in wanted {
        if !all.contains(w) {
            bail!("unknown {what} `{w}`; valid: {}", all.join(", "));
        }
    }
    Ok(all.iter().filter(|a| wanted.contains(a)).cloned().collect())
}

/// Build, optimize, size and attribute one profile.
fn size_half(cfg: &Config, name: &str, reports: &Path, baseline: Option<&Baseline>) -> Result<ProfileArtifacts> {
    let profile = cfg.profile(name).ok_or_else(|| anyhow!("unknown profile {name}"))?;
    eprintln!("budget: [{name}] build");
    let built = build::build(cfg, profile)?;
    let work = cfg.root.join("target").join("budget").join(name);
    std::fs::create_dir_all(&work)?;
    let input = work.join("input.wasm");
    let cargo_bytes = std::fs::read(&built.wasm)?;
    crate::wasmfile::check_magic(&cargo_bytes, &built.wasm.display().to_string())?;
    // wasm-bindgen subjects: the optimizer's input is the `_bg.wasm`.
    let mut build_command = built.command.clone();
    let (in_bytes, glue) = match crate::bindgen::pinned_version(&cfg.manifest)? {
        None => (cargo_bytes, None),
        Some(version) => {
            eprintln!("budget: [{name}] wasm-bindgen {version}");
            // The gate's own tool cache, shared by every subject it guards.
            let tools = project_root().join("target").join("budget").join("tools");
            let cli = crate::bindgen::cli(&version, &tools)?;
            let bg = crate::bindgen::run(&cli, &built.wasm, &work.join("bindgen"), &cfg.package.replace('-', "_"))?;
            build_command = format!("{build_command} && {}", bg.command);
            (std::fs::read(&bg.wasm)?, Some(bg.glue))
        }
    };
    if std::fs::read(&input).ok().as_deref() != Some(&in_bytes[..]) {
        write_atomic(&input, &in_bytes)?;
    }
    eprintln!("budget: [{name}] optimize");
    let opt = optimize::optimize(&input, &profile.wasm_opt, &work, &cfg.root.join("target").join("budget").join("cache"))?;
    let shipped = std::fs::read(&opt.wasm)?;
    let sizes = size::measure(&shipped, &opt.wasm.display().to_string())?;
    eprintln!("budget: [{name}] attribute");
    let base_art = baseline.and_then(|b| b.artifact(reports, name));
    let attribution = attribute::for_profile(
        &opt.wasm,
        &opt.named,
        base_art.as_ref().map(|(s, n)| (s.as_path(), n.as_path())),
        name,
        &reports.join("attribution"),
    )?;
    let rel = |p: &Path| p.strip_prefix(&cfg.root).unwrap_or(p).display().to_string();
    let info = ArtifactInfo {
        profile: name.into(),
        input: rel(&input),
        shipped: rel(&opt.wasm),
        named_twin: rel(&opt.named),
        sizes,
        input_raw_bytes: in_bytes.len() as u64,
        features: opt.features.clone(),
        build_command,
        optimize_command: opt.command,
        optimize_cached: opt.cached,
        js_glue: match &glue {
            Some(g) => {
                let js = std::fs::read(g)?;
                Some((js.len() as u64, size::gzip_len(&js)?))
            }
            None => None,
        },
        attribution: attribution.files.iter().map(|f| rel(f)).collect(),
    };
    Ok(ProfileArtifacts { info, shipped: opt.wasm, named: opt.named, glue, attribution: Some(attribution) })
}

fn unit_of_bytes(bytes: u64, unit: &str) -> f64 {
    match unit {
        "KiB" => bytes as f64 / 1024.0,
        "MiB" => bytes as f64 / (1024.0 * 1024.0),
        _ => bytes as f64,
    }
}

/// Records for every metric x profile (x environment), with verdicts. Pure
/// apart from reading its arguments.
#[allow(clippy::too_many_arguments)]
pub fn assemble(
    cfg: &Config,
    metrics: &[&MetricSpec],
    profiles: &[String],
    arts: &[ArtifactInfo],
    contributors_of: &dyn Fn(&str) -> Vec<String>,
    measured: &Measured,
    ledger: &Ledger,
    baseline: Option<&Baseline>,
    commit: &str,
    fingerprint: &Fingerprint,
) -> Vec<Record> {
    let mut out = Vec::new();
    for m in metrics {
        for p in profiles {
            let Some(caps) = m.caps.get(p) else { continue };
            let key = ledger::key(&m.id, p, &m.environment);
            let art = arts.iter().find(|a| &a.profile == p);
            let (value, per_seed, hist, method, commands, paths, seed_set, timer_warning) = match &m.source {
                Source::Size(kind) => {
                    let v = art.map(|a| {
                        let s = &a.sizes;
                        let b = match kind {
                            config::SizeKind::Raw => s.raw_bytes,
                            config::SizeKind::Gzip => s.gzip_bytes,
                            config::SizeKind::Brotli => s.brotli_bytes,
                            config::SizeKind::Stripped => s.stripped_bytes,
                        };
                        unit_of_bytes(b, &m.unit)
                    });
                    let cmds = art.map(|a| vec![a.build_command.clone(), a.optimize_command.clone()]).unwrap_or_default();
                    let paths = art.map(|a| vec![a.shipped.clone()]).unwrap_or_default();
                    let method = match kind {
                        config::SizeKind::Raw => "bytes of the optimized artifact",
                        config::SizeKind::Gzip => "gzip level 9 (flate2) of the optimized artifact",
                        config::SizeKind::Brotli => "brotli quality 11, window 22, of the optimized artifact",
                        config::SizeKind::Stripped => "optimized artifact with every custom section removed",
                    };
                    (v, vec![], None, method.to_string(), cmds, paths, vec![], None)
                }
                Source::Scenario(_) => match measured.get(&m.id, p, &m.environment) {
                    Some(r) => (
                        Some(r.value),
                        r.per_seed.clone(),
                        Some(r.histogram.clone()),
                        r.method.clone(),
                        r.commands.clone(),
                        r.artifact_paths.clone(),
                        r.per_seed.iter().map(|s| s.seed).collect(),
                        r.timer_warning(caps),
                    ),
                    None => (None, vec![], None, "not measured".into(), vec![], vec![], cfg.protocol.seeds.clone(), None),
                },
            };
            let per_seed_vals: Vec<f64> = per_seed.iter().map(|s| s.value).collect();
            let base_point = baseline.and_then(|b| b.points.get(&key));
            let history = ledger.history_in_band(&key);
            let verdict = gate::verdict(&gate::Observation {
                value,
                per_seed: &per_seed_vals,
                kind: m.kind,
                caps,
                deterministic: matches!(m.source, Source::Size(_)),
                history_in_band: &history,
                baseline: base_point,
                consecutive_warns_to_fail: cfg.escalation.consecutive_warns_to_fail,
                baseline_regression_pct: cfg.escalation.baseline_regression_pct,
            });
            let contributors = match &m.source {
                Source::Size(_) if verdict.status != Status::Pass || verdict.baseline_delta_pct.map_or(false, |d| d != 0.0) => {
                    contributors_of(p)
                }
                _ => vec![],
            };
            let mut verdict = verdict;
            if !contributors.is_empty() && verdict.status != Status::Pass {
                verdict.reasons.push(format!("top contributors vs baseline: {}", contributors.join(", ")));
            }
            out.push(Record {
                commit: commit.into(),
                profile: p.clone(),
                environment: m.environment.clone(),
                metric_id: m.id.clone(),
                metric_name: m.name.clone(),
                value,
                unit: m.unit.clone(),
                threshold_warn: caps.warn,
                threshold_hard: caps.hard,
                kind: match m.kind {
                    config::GateKind::Hard => "hard".into(),
                    config::GateKind::WarnThenBlock => "warn-then-block".into(),
                },
                status: verdict.status,
                seed_set,
                commands,
                artifact_paths: paths,
                method,
                per_seed,
                histogram: hist,
                baseline_value: base_point.map(|b| b.value),
                contributors,
                verdict,
                fingerprint: fingerprint.clone(),
                timer_warning,
            });
        }
    }
    out
}

// ------------------------------------------------------------------ baseline

/// `reports/baseline.json`: blessed values per key, plus the artifacts
/// attribution diffs need under `reports/baseline/`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Baseline {
    pub schema_version: u32,
    pub commit: String,
    pub blessed_unix_s: u64,
    pub points: BTreeMap<String, BaselinePoint>,
    /// profile -> shipped artifact path relative to reports/ (the named
    /// twin sits beside it as `<profile>.named.wasm`).
    pub artifacts: BTreeMap<String, String>,
}

impl Baseline {
    /// The blessed (shipped, named twin) artifacts of a profile.
    fn artifact(&self, reports: &Path, profile: &str) -> Option<(PathBuf, PathBuf)> {
        let shipped = reports.join(self.artifacts.get(profile)?);
        let named = PathBuf::from(shipped.display().to_string().replace(".shipped.wasm", ".named.wasm"));
        (shipped.is_file() && named.is_file()).then_some((shipped, named))
    }
}

fn load_baseline(reports: &Path) -> Result<Option<Baseline>> {
    let p = reports.join("baseline.json");
    match std::fs::read_to_string(&p) {
        Ok(t) => {
            let b: Baseline = serde_json::from_str(&t).with_context(|| {
                format!("baseline {} is corrupt; restore it or re-bless with `cargo xtask budget --bless`", p.display())
            })?;
            if b.schema_version != 1 {
                bail!("baseline {} has schema {}; this gate reads 1. Re-bless with `cargo xtask budget --bless`", p.display(), b.schema_version);
            }
            Ok(Some(b))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
    }
}

/// Write the baseline from this run: values per key and the shipped and
/// named artifacts. Updates keys this run measured and keeps the others.
fn bless(summary: &Summary, arts: &[ProfileArtifacts], reports: &Path) -> Result<()> {
    if summary.quick {
        bail!("--quick runs never bless a baseline");
    }
    let mut b = load_baseline(reports)?.unwrap_or(Baseline {
        schema_version: 1,
        commit: String::new(),
        blessed_unix_s: 0,
        points: BTreeMap::new(),
        artifacts: BTreeMap::new(),
    });
    b.commit = summary.commit.clone();
    b.blessed_unix_s = now_s();
    for r in &summary.records {
        if let Some(v) = r.value {
            b.points.insert(
                ledger::key(&r.metric_id, &r.profile, &r.environment),
                BaselinePoint { value: v, per_seed: r.per_seed.iter().map(|s| s.value).collect() },
            );
        }
    }
    for a in arts {
        for (src, tag) in [(&a.shipped, "shipped"), (&a.named, "named")] {
            let rel = format!("baseline/{}.{tag}.wasm", a.info.profile);
            write_atomic(&reports.join(&rel), &std::fs::read(src)?)?;
            if tag == "shipped" {
                b.artifacts.insert(a.info.profile.clone(), rel);
            }
        }
    }
    write_atomic(&reports.join("baseline.json"), serde_json::to_string_pretty(&b)?.as_bytes())?;
    eprintln!("budget: blessed {} as the baseline ({} figures)", reports.join("baseline.json").display(), b.points.len());
    Ok(())
}

// ------------------------------------------------------------------ merge

/// `cargo xtask merge SHARD...`: union of shard summaries, histograms merged
/// exactly, gated again.
pub fn merge_cli(args: &[String]) -> Result<u8> {
    let root = project_root();
    let mut budgets = root.join("budgets.toml");
    let mut reports = root.join("reports");
    let mut shards = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--budgets" => budgets = PathBuf::from(it.next().ok_or_else(|| anyhow!("--budgets needs a value"))?),
            "--reports" => reports = PathBuf::from(it.next().ok_or_else(|| anyhow!("--reports needs a value"))?),
            s if s.starts_with("--") => bail!("unknown option {s}"),
            s => shards.push(PathBuf::from(s)),
        }
    }
    if shards.is_empty() {
        bail!("merge needs at least one shard summary (reports/summary.json of each shard)");
    }
    let cfg = config::load(&budgets)?;
    let summaries: Vec<Summary> = shards
        .iter()
        .map(|p| {
            let t = std::fs::read_to_string(p).with_context(|| format!("reading shard {}", p.display()))?;
            let s: Summary = serde_json::from_str(&t).with_context(|| format!("shard {} is not a summary", p.display()))?;
            if s.outcome != "ok" {
                bail!("shard {} did not complete ({}); rerun it", p.display(), s.error.unwrap_or_default());
            }
            if s.schema_version != SCHEMA_VERSION {
                bail!("shard {} has summary schema {}, expected {SCHEMA_VERSION}", p.display(), s.schema_version);
            }
            Ok(s)
        })
        .collect::<Result<_>>()?;
    let merged = measure::Measured::from_summaries(&summaries)?;
    let first = &summaries[0];
    let mut profiles: Vec<String> = Vec::new();
    let mut envs: Vec<String> = Vec::new();
    let mut infos: Vec<ArtifactInfo> = Vec::new();
    for s in &summaries {
        for p in &s.profiles {
            if !profiles.contains(p) {
                profiles.push(p.clone());
            }
        }
        for e in &s.environments {
            if !envs.contains(e) {
                envs.push(e.clone());
            }
        }
        for a in &s.artifacts {
            match infos.iter().find(|i| i.profile == a.profile) {
                Some(i) if i.sizes != a.sizes => bail!(
                    "shards disagree on the size of profile {} ({} vs {} bytes): they were built from different code",
                    a.profile, i.sizes.raw_bytes, a.sizes.raw_bytes
                ),
                Some(_) => {}
                None => infos.push(a.clone()),
            }
        }
        if s.commit != first.commit {
            bail!("shards come from different commits ({} and {})", first.commit, s.commit);
        }
    }
    // Keep the profile order of budgets.toml.
    profiles.sort_by_key(|p| cfg.profiles.iter().position(|q| &q.name == p));
    let metrics: Vec<&MetricSpec> = cfg
        .metrics
        .iter()
        .filter(|m| match &m.source {
            Source::Size(_) => true,
            Source::Scenario(_) => envs.contains(&m.environment),
        })
        .collect();
    let mut fingerprint = first.fingerprint.clone();
    for s in &summaries[1..] {
        fingerprint.throttle.extend(s.fingerprint.throttle.clone());
        if fingerprint.chromium.is_empty() {
            fingerprint.chromium = s.fingerprint.chromium.clone();
            fingerprint.timer_resolution_us = s.fingerprint.timer_resolution_us;
            fingerprint.cross_origin_isolated = s.fingerprint.cross_origin_isolated;
            fingerprint.browser_origin = s.fingerprint.browser_origin.clone();
        }
    }
    let baseline = load_baseline(&reports)?;
    let started = now_s();
    let no_contributors = |_: &str| Vec::new();
    let (ledger, records) = ledger::update(&reports.join("ledger.json"), cfg.escalation.ledger_window, |l| {
        let recs = assemble(&cfg, &metrics, &profiles, &infos, &no_contributors, &merged, l, baseline.as_ref(), &first.commit, &fingerprint);
        let run = Run {
            id: format!("{started}-{}-merge", std::process::id()),
            started_unix_s: started,
            commit: first.commit.clone(),
            status: gate::overall(recs.iter().map(|r| r.status)),
            fingerprint: fingerprint.clone(),
            entries: recs
                .iter()
                .map(|r| (ledger::key(&r.metric_id, &r.profile, &r.environment), Entry { value: r.value, status: r.status, in_warn_band: r.verdict.in_warn_band }))
                .collect(),
        };
        Ok((run, recs))
    })?;
    let status = gate::overall(records.iter().map(|r| r.status));
    let summary = Summary {
        schema_version: SCHEMA_VERSION,
        outcome: "ok".into(),
        status: Some(status),
        commit: first.commit.clone(),
        started_unix_s: started,
        wall_s: 0.0,
        quick: false,
        gating: true,
        profiles,
        environments: envs,
        fingerprint,
        records,
        artifacts: infos,
        error: None,
        trend: ledger
            .trend(cfg.escalation.ledger_window)
            .into_iter()
            .map(|r| TrendPoint { run: r.id.clone(), commit: r.commit.clone(), status: r.status })
            .collect(),
    };
    report::write_all(&summary, &reports, &ledger, &[], &merged.histograms_for_report())?;
    Ok(if status == Status::Fail { 1 } else { 0 })
}

fn rustc_version(root: &Path) -> String {
    std::process::Command::new("rustc")
        .arg("--version")
        .current_dir(root)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn host_name() -> String {
    let name = std::fs::read_to_string("/etc/hostname").map(|s| s.trim().to_string()).unwrap_or_default();
    format!("{} {} {}", name, std::env::consts::OS, std::env::consts::ARCH).trim().to_string()
}
