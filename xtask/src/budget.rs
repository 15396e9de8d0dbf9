//! `cargo xtask budget` / `size` / `merge`: the pipeline in one place.
//!
//! build -> optimize -> size -> attribute -> measure -> gate -> report.
//! Only build, optimize and measure touch the outside world; `assemble`
//! turns plain figures into records with the pure gate. Timings are
//! compared live with a base (`--against REF`, or the blessed baseline's
//! artifacts), measured in the same browser session.

use crate::artifacts::{reference_key, Base, BaseProfile, ProfileArtifacts, Runnable};
use crate::attribute;
use crate::build;
use crate::config::{self, Config, MetricSpec, Profile, Source};
use crate::gate::{self, BaselinePoint, Status};
use crate::ledger::{self, Entry, Ledger, Run};
use crate::measure::{self, Measured, Measurer};
use crate::optimize;
use crate::report;
use crate::size;
use crate::summary::{ArtifactInfo, ClockCheck, Fingerprint, Record, Summary, TrendPoint, SCHEMA_VERSION};
use crate::util::{git_commit, project_root, write_atomic};
use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
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
    /// `--bless --force`: bless even a failing run.
    pub force: bool,
    pub browser_ws: Option<String>,
    /// `--against REF`: build the base at this git ref and measure it live.
    pub against: Option<String>,
    /// Hidden (tests): measure with fixed samples instead of a browser;
    /// `MARKER:FACTOR` slows modules whose path contains MARKER.
    pub fixed_samples: Option<String>,
}

impl Options {
    pub fn parse(args: &[String], browser: bool) -> Result<Options> {
        let root = project_root();
        let mut o = Options {
            browser,
            budgets: root.join("budgets.toml"),
            reports: PathBuf::new(),
            profiles: vec![],
            envs: vec![],
            quick: false,
            bless: false,
            force: false,
            browser_ws: None,
            against: None,
            fixed_samples: None,
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
                "--against" => o.against = Some(val(a)?),
                "--fixed-samples" => o.fixed_samples = Some(val(a)?),
                "--quick" => o.quick = true,
                "--bless" => o.bless = true,
                "--force" => o.force = true,
                other => bail!("unknown option `{other}` (see `cargo xtask help`)"),
            }
        }
        if o.force && !o.bless {
            bail!("--force only goes with --bless (to bless a failing run)");
        }
        // Reports, ledger and baseline live next to the budgets file they
        // belong to, so gating a second project never touches the first's.
        if o.reports.as_os_str().is_empty() {
            o.reports = o.budgets.parent().map(|d| d.join("reports")).unwrap_or_else(|| root.join("reports"));
        }
        if o.quick && o.bless {
            bail!("--quick runs never bless a baseline: drop --quick to bless");
        }
        if !browser && (!o.envs.is_empty() || o.quick || o.browser_ws.is_some() || o.fixed_samples.is_some()) {
            bail!("--env, --quick, --browser-ws belong to `budget`, not `size`");
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
    let metrics: Vec<&MetricSpec> = cfg
        .metrics
        .iter()
        .filter(|m| match &m.source {
            Source::Size(_) => true,
            Source::Scenario(_) => opts.browser && envs.contains(&m.environment),
        })
        .collect();

    // build -> optimize -> size -> attribute, per profile; then the base.
    build::ensure_target(&cfg.root)?;
    let baseline = load_baseline(&opts.reports)?;
    let base = match &opts.against {
        Some(r) => Some(base_from_ref(&cfg, r, &profiles, &metrics)?),
        None => baseline.as_ref().map(|b| b.as_base(&opts.reports)),
    };
    let mut arts = Vec::new();
    for name in &profiles {
        let profile = cfg.profile(name).ok_or_else(|| anyhow!("unknown profile {name}"))?;
        arts.push(size_half(&cfg, profile, name, &metrics, &opts.reports, base.as_ref())?);
    }

    // measure.
    let mut fingerprint = Fingerprint {
        rustc: rustc_version(&cfg.root),
        binaryen: optimize::binaryen_version().into(),
        host: host_name(),
        cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        ..Default::default()
    };
    let measured = if opts.browser && metrics.iter().any(|m| matches!(m.source, Source::Scenario(_))) {
        let plan = measure::plan(&cfg, &metrics, &profiles, opts.quick);
        let mut m: Box<dyn Measurer> = match &opts.fixed_samples {
            Some(spec) => Box::new(fixed_measurer(spec)?),
            None => Box::new(crate::browser::BrowserMeasurer::start(&cfg, opts.browser_ws.as_deref())?),
        };
        let out = measure::run(&cfg, &plan, &arts, base.as_ref(), m.as_mut(), measure::RunOptions { quick: opts.quick })?;
        m.fingerprint(&mut fingerprint);
        out
    } else {
        Measured::default()
    };
    for (name, env) in &cfg.environments {
        if envs.contains(name) {
            fingerprint.throttle.insert(name.clone(), env.cpu_throttle);
            if !env.js_flags.is_empty() {
                fingerprint.js_flags.insert(name.clone(), env.js_flags.clone());
            }
            if let Some(info) = measured.envs.get(name) {
                fingerprint.throttle_rate.insert(name.clone(), info.rate);
                if let Some(a) = info.achieved {
                    fingerprint.throttle_achieved.insert(name.clone(), a);
                }
            }
        }
    }

    // gate (under the ledger lock, unless quick) -> report.
    let infos: Vec<ArtifactInfo> = arts.iter().map(|a| a.info.clone()).collect();
    let contributors_of = |p: &str| {
        arts.iter()
            .find(|a| a.info.profile == p)
            .and_then(|a| a.attribution.as_ref())
            .map(|a| a.top_contributors(5))
            .unwrap_or_default()
    };
    let size_base_of = |key: &str, profile: &str, m: &MetricSpec| -> Option<f64> {
        match (&m.source, base.as_ref().and_then(|b| b.profiles.get(profile)).and_then(|bp| bp.sizes.as_ref())) {
            (Source::Size(kind), Some(sizes)) => Some(size::in_unit(size::bytes_of(sizes, *kind), &m.unit)),
            (Source::Size(_), None) => baseline.as_ref().and_then(|b| b.points.get(key)).map(|p| p.value),
            _ => None,
        }
    };
    let run = GateRun {
        cfg: &cfg,
        metrics: &metrics,
        profiles: &profiles,
        arts: &infos,
        contributors_of: &contributors_of,
        size_base_of: &size_base_of,
        measured: &measured,
        commit: &commit,
        fingerprint: &fingerprint,
        started,
        wall_s: t0.elapsed().as_secs_f64(),
        quick: opts.quick,
        environments: if opts.browser { envs.clone() } else { vec!["size".into()] },
        run_tag: "",
    };
    let (summary, _ledger) = gate_and_report(&run, &opts.reports, &arts)?;
    let status = summary.status.unwrap_or(Status::Fail);

    if opts.quick {
        let failing = summary.records.iter().filter(|r| r.status == Status::Fail).count();
        eprintln!(
            "budget: --quick: not gating ({} samples per seed): no escalation, no ledger entry, exit 0 whatever the figures{}",
            cfg.protocol.quick_iterations,
            if failing > 0 { format!(" ({failing} figure(s) above would fail a gating run)") } else { String::new() }
        );
        return Ok(0);
    }
    if opts.bless {
        if status == Status::Fail && !opts.force {
            let failing: Vec<String> = summary
                .records
                .iter()
                .filter(|r| r.status == Status::Fail)
                .map(|r| format!("{} {} {}", r.metric_id, r.profile, r.environment))
                .collect();
            eprintln!(
                "budget: not blessing: this run fails ({}). A baseline is a state the gate accepts; fix the failures, or bless it anyway with --bless --force",
                failing.join("; ")
            );
        } else {
            bless(&summary, &arts, &opts.reports)?;
        }
    }
    Ok(if status == Status::Fail { 1 } else { 0 })
}

/// `--fixed-samples MARKER:FACTOR` (tests only).
fn fixed_measurer(spec: &str) -> Result<measure::FixedMeasurer> {
    let mut m = measure::FixedMeasurer::new();
    if !spec.is_empty() && spec != "-" {
        let (marker, factor) = spec.split_once(':').ok_or_else(|| anyhow!("--fixed-samples takes MARKER:FACTOR"))?;
        m.slow_marker = Some(marker.to_string());
        m.slowdown = factor.parse().map_err(|_| anyhow!("--fixed-samples: `{factor}` is not a number"))?;
    }
    Ok(m)
}

/// Everything the gate and the reports need from one run (budget or merge).
pub struct GateRun<'a> {
    pub cfg: &'a Config,
    pub metrics: &'a [&'a MetricSpec],
    pub profiles: &'a [String],
    pub arts: &'a [ArtifactInfo],
    pub contributors_of: &'a dyn Fn(&str) -> Vec<String>,
    /// key, profile, metric -> the base's size in the metric's unit.
    pub size_base_of: &'a dyn Fn(&str, &str, &MetricSpec) -> Option<f64>,
    pub measured: &'a Measured,
    pub commit: &'a str,
    pub fingerprint: &'a Fingerprint,
    pub started: u64,
    pub wall_s: f64,
    pub quick: bool,
    pub environments: Vec<String>,
    /// Suffix of the ledger run id (`-merge` for merges).
    pub run_tag: &'a str,
}

/// Gate (under the ledger lock, unless quick) and write every report. One
/// function for `budget` and `merge`, so both gate alike.
pub fn gate_and_report(r: &GateRun, reports: &Path, arts: &[ProfileArtifacts]) -> Result<(Summary, Ledger)> {
    let ledger_path = reports.join("ledger.json");
    let gating = !r.quick;
    let (records, ledger) = if gating {
        let run_id = format!("{}-{}{}", r.started, std::process::id(), r.run_tag);
        let config_id = ledger::identity(&r.cfg.budgets_file, &r.cfg.package);
        let (ledger, records) = ledger::update(&ledger_path, r.cfg.escalation.ledger_window, |l| {
            let records = assemble(r, l);
            let run = Run {
                id: run_id.clone(),
                started_unix_s: r.started,
                commit: r.commit.to_string(),
                config: config_id.clone(),
                status: gate::overall(records.iter().map(|x| x.status)),
                fingerprint: r.fingerprint.clone(),
                entries: records
                    .iter()
                    .map(|x| {
                        (
                            ledger::key(&x.metric_id, &x.profile, &x.environment),
                            Entry {
                                value: x.value,
                                lo: x.value_ci.map(|c| c.lo),
                                hi: x.value_ci.map(|c| c.hi),
                                status: x.status,
                                in_warn_band: x.verdict.in_warn_band,
                            },
                        )
                    })
                    .collect(),
            };
            Ok((run, records))
        })?;
        (records, ledger)
    } else {
        // Not gating: the history is shown in the trend, but it does not
        // escalate a quick run's figures.
        let l = Ledger::load(&ledger_path)?;
        (assemble(r, &Ledger::empty()), l)
    };
    let status = gate::overall(records.iter().map(|x| x.status));
    let summary = Summary {
        schema_version: SCHEMA_VERSION,
        outcome: "ok".into(),
        status: Some(status),
        commit: r.commit.to_string(),
        started_unix_s: r.started,
        wall_s: r.wall_s,
        quick: r.quick,
        gating,
        profiles: r.profiles.to_vec(),
        environments: r.environments.clone(),
        fingerprint: r.fingerprint.clone(),
        records,
        artifacts: r.arts.to_vec(),
        error: None,
        trend: ledger
            .trend(r.cfg.escalation.ledger_window)
            .into_iter()
            .map(|x| TrendPoint { run: x.id.clone(), commit: x.commit.clone(), status: x.status })
            .collect(),
    };
    report::write_all(&summary, reports, &ledger, arts, &r.measured.histograms_for_report())?;
    Ok((summary, ledger))
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

/// What building and optimizing one profile variant produced.
struct Optimized {
    opt: optimize::Optimized,
    glue: Option<PathBuf>,
    input: PathBuf,
    input_len: u64,
    build_command: String,
}

/// Build one profile (or a variant of it) of the subject at `manifest`, and
/// optimize it. Serves the candidate, its reference builds and the base.
fn build_and_optimize(cfg: &Config, profile: &Profile, work_name: &str) -> Result<Optimized> {
    eprintln!("budget: [{work_name}] build");
    let built = build::build(cfg, profile)?;
    let work = cfg.root.join("target").join("budget").join(work_name);
    std::fs::create_dir_all(&work)?;
    let input = work.join("input.wasm");
    let cargo_bytes = std::fs::read(&built.wasm)?;
    crate::wasmfile::check_magic(&cargo_bytes, &built.wasm.display().to_string())?;
    // wasm-bindgen subjects: the optimizer's input is the `_bg.wasm`.
    let mut build_command = built.command.clone();
    let (in_bytes, glue) = match crate::bindgen::pinned_version(&cfg.manifest)? {
        None => (cargo_bytes, None),
        Some(version) => {
            eprintln!("budget: [{work_name}] wasm-bindgen {version}");
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
    eprintln!("budget: [{work_name}] optimize");
    let opt = optimize::optimize(&input, &profile.wasm_opt, &work, &cfg.root.join("target").join("budget").join("cache"))?;
    Ok(Optimized { opt, glue, input, input_len: in_bytes.len() as u64, build_command })
}

/// The reference builds the selected relative metrics need for a profile:
/// (key, the profile without those features).
fn reference_profiles(metrics: &[&MetricSpec], profile: &Profile, label: &str) -> Vec<(String, Profile)> {
    let mut out: Vec<(String, Profile)> = Vec::new();
    for m in metrics {
        let Some(without) = &m.reference_without else { continue };
        if !m.caps.contains_key(label) {
            continue;
        }
        let key = reference_key(without);
        if out.iter().any(|(k, _)| k == &key) {
            continue;
        }
        let mut p = profile.clone();
        p.features.retain(|f| !without.contains(f));
        p.name = format!("{}~{key}", profile.name);
        out.push((key, p));
    }
    out
}

/// Build and optimize the reference builds a profile needs (working names
/// prefixed with `prefix`, so the base's never overwrite the candidate's).
fn build_references(cfg: &Config, metrics: &[&MetricSpec], profile: &Profile, label: &str, prefix: &str) -> Result<BTreeMap<String, Runnable>> {
    let mut references = BTreeMap::new();
    for (key, mut p) in reference_profiles(metrics, profile, label) {
        p.name = format!("{prefix}{}", p.name);
        let r = build_and_optimize(cfg, &p, &p.name)?;
        references.insert(key, Runnable { wasm: r.opt.wasm, glue: r.glue });
    }
    Ok(references)
}

/// Build, optimize, size and attribute one profile, and build its
/// reference variants. `name` is the profile the figures are reported under
/// (`profile.name` may be a variant's working name, as in calibration).
pub(crate) fn size_half(cfg: &Config, profile: &Profile, name: &str, metrics: &[&MetricSpec], reports: &Path, base: Option<&Base>) -> Result<ProfileArtifacts> {
    let o = build_and_optimize(cfg, profile, &profile.name)?;
    let shipped = std::fs::read(&o.opt.wasm)?;
    let sizes = size::measure(&shipped, &o.opt.wasm.display().to_string())?;
    eprintln!("budget: [{name}] attribute");
    let base_pair = base.and_then(|b| b.profiles.get(name)).and_then(|bp| bp.named.as_ref().map(|n| (bp.main.wasm.clone(), n.clone())));
    let attribution = attribute::for_profile(
        &o.opt.wasm,
        &o.opt.named,
        base_pair.as_ref().map(|(s, n)| (s.as_path(), n.as_path())),
        name,
        &reports.join("attribution"),
    )?;
    let references = build_references(cfg, metrics, profile, name, "")?;
    let rel = |p: &Path| p.strip_prefix(&cfg.root).unwrap_or(p).display().to_string();
    let info = ArtifactInfo {
        profile: name.into(),
        input: rel(&o.input),
        shipped: rel(&o.opt.wasm),
        named_twin: rel(&o.opt.named),
        sizes,
        input_raw_bytes: o.input_len,
        features: o.opt.features.clone(),
        build_command: o.build_command,
        optimize_command: o.opt.command.clone(),
        optimize_cached: o.opt.cached,
        js_glue: match &o.glue {
            Some(g) => {
                let js = std::fs::read(g)?;
                Some((js.len() as u64, size::gzip_len(&js)?))
            }
            None => None,
        },
        attribution: attribution.files.iter().map(|f| rel(f)).collect(),
    };
    Ok(ProfileArtifacts { info, shipped: o.opt.wasm, named: o.opt.named, glue: o.glue, attribution: Some(attribution), references })
}

/// `--against REF`: check REF out in a git worktree (under
/// `target/budget/base/`, reused while REF resolves to the same commit) and
/// build every selected profile there, with this checkout's profiles and
/// optimizer settings, so only the code differs.
fn base_from_ref(cfg: &Config, reference: &str, profiles: &[String], metrics: &[&MetricSpec]) -> Result<Base> {
    let subject_dir = cfg.manifest.parent().unwrap_or(&cfg.root);
    let git = |args: &[&str], dir: &Path| -> Result<String> {
        let out = Command::new("git").args(args).current_dir(dir).output().context("running git")?;
        if !out.status.success() {
            bail!("git {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let top = PathBuf::from(git(&["rev-parse", "--show-toplevel"], subject_dir).context("--against needs the subject to be in a git checkout")?);
    let sha = git(&["rev-parse", "--verify", &format!("{reference}^{{commit}}")], &top)
        .with_context(|| format!("--against {reference}: no such commit (a shallow CI clone needs `fetch-depth: 0` or a fetch of the base)"))?;
    let manifest = std::fs::canonicalize(&cfg.manifest).unwrap_or(cfg.manifest.clone());
    let top = std::fs::canonicalize(&top).unwrap_or(top);
    let rel = manifest.strip_prefix(&top).map(Path::to_path_buf).map_err(|_| anyhow!("the subject manifest {} is not inside its git checkout {}", manifest.display(), top.display()))?;
    let wt = cfg.root.join("target").join("budget").join("base").join(&sha[..12]);
    let ready = wt.join(&rel).is_file() && git(&["rev-parse", "HEAD"], &wt).map(|h| h == sha).unwrap_or(false);
    if !ready {
        let _ = std::fs::remove_dir_all(&wt);
        let _ = git(&["worktree", "prune"], &top);
        eprintln!("budget: checking out the base {reference} ({}) in {}", &sha[..12], wt.display());
        git(&["worktree", "add", "--force", "--detach", &wt.display().to_string(), &sha], &top)?;
    }
    let mut base_cfg = cfg.clone();
    base_cfg.manifest = wt.join(&rel);
    let mut out = Base { origin: format!("--against {reference} ({})", &sha[..12]), commit: sha.clone(), profiles: BTreeMap::new() };
    for name in profiles {
        let profile = cfg.profile(name).ok_or_else(|| anyhow!("unknown profile {name}"))?;
        let references = build_references(&base_cfg, metrics, profile, name, "base~")?;
        let mut p = profile.clone();
        p.name = format!("base~{name}");
        let o = build_and_optimize(&base_cfg, &p, &p.name).with_context(|| format!("building the base ({reference}) of profile {name}"))?;
        let sizes = size::measure(&std::fs::read(&o.opt.wasm)?, &o.opt.wasm.display().to_string())?;
        out.profiles.insert(
            name.clone(),
            BaseProfile { main: Runnable { wasm: o.opt.wasm, glue: o.glue }, named: Some(o.opt.named), sizes: Some(sizes), references },
        );
    }
    Ok(out)
}

/// Records for every metric x profile (x environment), with verdicts. Pure
/// apart from reading its arguments.
pub fn assemble(r: &GateRun, ledger: &Ledger) -> Vec<Record> {
    let cfg = r.cfg;
    let config_id = ledger::identity(&cfg.budgets_file, &cfg.package);
    let mut out = Vec::new();
    for m in r.metrics {
        for p in r.profiles {
            let Some(caps) = m.caps.get(p) else { continue };
            let key = ledger::key(&m.id, p, &m.environment);
            let art = r.arts.iter().find(|a| &a.profile == p);
            let measured = match &m.source {
                Source::Scenario(_) => r.measured.get(&m.id, p, &m.environment),
                Source::Size(_) => None,
            };
            let value = match &m.source {
                Source::Size(kind) => art.map(|a| size::in_unit(size::bytes_of(&a.sizes, *kind), &m.unit)),
                Source::Scenario(_) => measured.map(|x| x.value),
            };
            let clock = measured.and_then(|x| {
                x.clock_ticks.map(|ticks| ClockCheck {
                    tick_in_unit: x.resolution_in_unit.unwrap_or(f64::NAN),
                    ticks,
                    floor_ticks: cfg.protocol.clock_floor_ticks,
                })
            });
            let size_base = (r.size_base_of)(&key, p, m);
            let history = ledger.history(&key, &config_id);
            let mut verdict = gate::verdict(&gate::Observation {
                value,
                value_ci: measured.and_then(|x| x.value_ci.as_ref()),
                kind: m.kind,
                caps,
                history: &history,
                size_base,
                comparison: measured.and_then(|x| x.comparison.as_ref()),
                clock: clock.as_ref(),
                consecutive_warns_to_fail: cfg.escalation.consecutive_warns_to_fail,
                baseline_regression_pct: cfg.escalation.baseline_regression_pct,
            });
            let contributors = match &m.source {
                Source::Size(_) if verdict.status != Status::Pass || verdict.baseline_delta_pct.is_some_and(|d| d != 0.0) => (r.contributors_of)(p),
                _ => vec![],
            };
            if !contributors.is_empty() && verdict.status != Status::Pass {
                verdict.reasons.push(format!("top contributors vs base: {}", contributors.join(", ")));
            }
            let (method, commands, paths, per_seed, histogram, seed_set) = match (&m.source, measured) {
                (Source::Size(kind), _) => (
                    size::method(*kind).to_string(),
                    art.map(|a| vec![a.build_command.clone(), a.optimize_command.clone()]).unwrap_or_default(),
                    art.map(|a| vec![a.shipped.clone()]).unwrap_or_default(),
                    vec![],
                    None,
                    vec![],
                ),
                (Source::Scenario(_), Some(x)) => (
                    x.method.clone(),
                    x.commands.clone(),
                    x.artifact_paths.clone(),
                    x.per_seed.clone(),
                    Some(x.histogram.clone()),
                    x.per_seed.iter().map(|s| s.seed).collect(),
                ),
                (Source::Scenario(_), None) => ("not measured".into(), vec![], vec![], vec![], None, cfg.protocol.seeds.clone()),
            };
            let comparison = measured.and_then(|x| x.comparison.clone());
            out.push(Record {
                commit: r.commit.into(),
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
                histogram,
                baseline_value: size_base.or_else(|| comparison.as_ref().and_then(|c| c.base_value)),
                contributors,
                verdict,
                fingerprint: r.fingerprint.clone(),
                value_ci: measured.and_then(|x| x.value_ci),
                clock,
                comparison,
            });
        }
    }
    out
}

// ------------------------------------------------------------------ baseline

/// `reports/baseline.json`: blessed values per key, plus the artifacts under
/// `reports/baseline/` that later runs measure live as their base.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Baseline {
    pub schema_version: u32,
    pub commit: String,
    pub blessed_unix_s: u64,
    pub points: BTreeMap<String, BaselinePoint>,
    /// profile -> shipped artifact path relative to reports/ (the named
    /// twin sits beside it as `<profile>.named.wasm`).
    pub artifacts: BTreeMap<String, String>,
    /// profile -> wasm-bindgen glue relative to reports/.
    #[serde(default)]
    pub glue: BTreeMap<String, String>,
    /// profile -> reference key -> shipped reference build.
    #[serde(default)]
    pub references: BTreeMap<String, BTreeMap<String, String>>,
}

impl Baseline {
    /// The blessed artifacts as the base of a live comparison.
    fn as_base(&self, reports: &Path) -> Base {
        let mut profiles = BTreeMap::new();
        for (profile, rel) in &self.artifacts {
            let shipped = reports.join(rel);
            if !shipped.is_file() {
                continue;
            }
            let named = PathBuf::from(shipped.display().to_string().replace(".shipped.wasm", ".named.wasm"));
            let sizes = std::fs::read(&shipped).ok().and_then(|b| size::measure(&b, &shipped.display().to_string()).ok());
            let references = self
                .references
                .get(profile)
                .map(|m| m.iter().filter(|(_, r)| reports.join(r).is_file()).map(|(k, r)| (k.clone(), Runnable { wasm: reports.join(r), glue: None })).collect())
                .unwrap_or_default();
            profiles.insert(
                profile.clone(),
                BaseProfile {
                    main: Runnable { wasm: shipped, glue: self.glue.get(profile).map(|g| reports.join(g)) },
                    named: named.is_file().then_some(named),
                    sizes,
                    references,
                },
            );
        }
        Base { origin: format!("the blessed baseline ({})", short(&self.commit)), commit: self.commit.clone(), profiles }
    }
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
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

/// Write the baseline from this run: values per key and the artifacts a
/// later run measures live (shipped, named twin, glue, reference builds).
/// Updates keys this run measured and keeps the others.
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
        glue: BTreeMap::new(),
        references: BTreeMap::new(),
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
    let copy = |src: &Path, rel: String| -> Result<String> {
        write_atomic(&reports.join(&rel), &std::fs::read(src).with_context(|| format!("reading {}", src.display()))?)?;
        Ok(rel)
    };
    for a in arts {
        let p = &a.info.profile;
        let shipped = copy(&a.shipped, format!("baseline/{p}.shipped.wasm"))?;
        copy(&a.named, format!("baseline/{p}.named.wasm"))?;
        b.artifacts.insert(p.clone(), shipped);
        if let Some(g) = &a.glue {
            b.glue.insert(p.clone(), copy(g, format!("baseline/{p}.glue.js"))?);
        }
        let mut refs = BTreeMap::new();
        for (k, r) in &a.references {
            refs.insert(k.clone(), copy(&r.wasm, format!("baseline/{p}.{k}.shipped.wasm"))?);
        }
        b.references.insert(p.clone(), refs);
    }
    write_atomic(&reports.join("baseline.json"), serde_json::to_string_pretty(&b)?.as_bytes())?;
    eprintln!("budget: blessed {} as the baseline ({} figures)", reports.join("baseline.json").display(), b.points.len());
    Ok(())
}

// ------------------------------------------------------------------ merge

/// `cargo xtask merge SHARD...`: union of shard summaries, histograms merged
/// exactly, gated again. Each shard's live comparisons are kept.
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
            let s: Summary = serde_json::from_str(&t).with_context(|| format!("shard {} is not a summary of schema {SCHEMA_VERSION}", p.display()))?;
            if s.outcome != "ok" {
                bail!("shard {} did not complete ({}); rerun it", p.display(), s.error.unwrap_or_default());
            }
            if s.schema_version != SCHEMA_VERSION {
                bail!("shard {} has summary schema {}, expected {SCHEMA_VERSION}", p.display(), s.schema_version);
            }
            Ok(s)
        })
        .collect::<Result<_>>()?;
    let merged = Measured::from_summaries(&summaries, &cfg)?;
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
                    a.profile,
                    i.sizes.raw_bytes,
                    a.sizes.raw_bytes
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
        fingerprint.throttle_rate.extend(s.fingerprint.throttle_rate.clone());
        fingerprint.throttle_achieved.extend(s.fingerprint.throttle_achieved.clone());
        fingerprint.js_flags.extend(s.fingerprint.js_flags.clone());
        if fingerprint.chromium.is_empty() {
            fingerprint.chromium = s.fingerprint.chromium.clone();
            fingerprint.timer_resolution_us = s.fingerprint.timer_resolution_us;
            fingerprint.cross_origin_isolated = s.fingerprint.cross_origin_isolated;
            fingerprint.browser_origin = s.fingerprint.browser_origin.clone();
        }
    }
    // Sizes: the base values the shards compared against (identical builds).
    let size_bases: BTreeMap<String, f64> = summaries
        .iter()
        .flat_map(|s| s.records.iter())
        .filter(|r| r.environment == "size")
        .filter_map(|r| r.baseline_value.map(|b| (ledger::key(&r.metric_id, &r.profile, &r.environment), b)))
        .collect();
    let size_base_of = |key: &str, _: &str, _: &MetricSpec| size_bases.get(key).copied();
    let no_contributors = |_: &str| Vec::new();
    let run = GateRun {
        cfg: &cfg,
        metrics: &metrics,
        profiles: &profiles,
        arts: &infos,
        contributors_of: &no_contributors,
        size_base_of: &size_base_of,
        measured: &merged,
        commit: &first.commit,
        fingerprint: &fingerprint,
        started: now_s(),
        wall_s: 0.0,
        quick: false,
        environments: envs,
        run_tag: "-merge",
    };
    let (summary, _) = gate_and_report(&run, &reports, &[])?;
    Ok(if summary.status == Some(Status::Fail) { 1 } else { 0 })
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
