//! `cargo xtask budget` and `cargo xtask size`: the pipeline.
//!
//! build -> optimize -> size -> attribute (`subject`, per profile) ->
//! measure (`measure`, in `browser/`) -> gate (`gating`, pure) -> ledger
//! (`ledger::Session`) -> report (`report`). Only build, optimize and
//! measure touch the outside world; gating is a function of the figures and
//! the history. Timings are compared live with a base (`--against REF`, or
//! the blessed baseline's artifacts), measured in the same browser session.

use super::args::{select, Arg, Args};
use crate::artifacts::{Base, ProfileArtifacts};
use crate::baseline;
use crate::build;
use crate::config::{self, MetricSpec, Source};
use crate::fingerprint;
use crate::gate::Status;
use crate::gating::GateRun;
use crate::ledger;
use crate::measure::{self, Measured, Measurer};
use crate::size;
use crate::subject;
use crate::summary::{ArtifactInfo, Fingerprint, ProtocolUsed};
use crate::util::{find_budgets, git_commit, now_s};
use anyhow::{anyhow, bail, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

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
    /// `--harness-addr IP`: where the harness server listens (loopback by
    /// default), for a `--browser-ws` browser on another host.
    pub harness_addr: Option<std::net::IpAddr>,
    /// `--against REF`: build the base at this git ref and measure it live.
    pub against: Option<String>,
    /// `--fresh`: measure every key and every base, even where the inputs
    /// were measured before or the base is the candidate.
    pub fresh: bool,
    /// Hidden (tests): measure with fixed samples instead of a browser;
    /// `MARKER:FACTOR` slows modules whose path contains MARKER.
    pub fixed_samples: Option<String>,
}

impl Options {
    pub fn parse(args: &[String], browser: bool) -> Result<Options> {
        let mut budgets = None;
        let mut o = Options {
            browser,
            budgets: PathBuf::new(),
            reports: PathBuf::new(),
            profiles: vec![],
            envs: vec![],
            quick: false,
            bless: false,
            force: false,
            browser_ws: None,
            harness_addr: None,
            against: None,
            fresh: false,
            fixed_samples: None,
        };
        let mut a = Args::new(if browser { "budget" } else { "size" }, args);
        while let Some(arg) = a.next_arg() {
            match arg {
                Arg::Flag("--budgets") => budgets = Some(PathBuf::from(a.value("--budgets")?)),
                Arg::Flag("--reports") => o.reports = PathBuf::from(a.value("--reports")?),
                Arg::Flag("--profile") => o.profiles.push(a.value("--profile")?),
                Arg::Flag("--env") => o.envs.push(a.value("--env")?),
                Arg::Flag("--browser-ws") => o.browser_ws = Some(a.value("--browser-ws")?),
                Arg::Flag("--against") => o.against = Some(a.value("--against")?),
                Arg::Flag("--harness-addr") => {
                    o.harness_addr = Some(a.parsed(
                        "--harness-addr",
                        "an IP address (e.g. 0.0.0.0 or 192.168.1.5)",
                    )?)
                }
                Arg::Flag("--fixed-samples") => o.fixed_samples = Some(a.value("--fixed-samples")?),
                Arg::Flag("--quick") => o.quick = true,
                Arg::Flag("--fresh") => o.fresh = true,
                Arg::Flag("--bless") => o.bless = true,
                Arg::Flag("--force") => o.force = true,
                Arg::Flag(f) => return Err(a.unknown(f)),
                Arg::Positional(p) => return Err(a.unexpected(p)),
            }
        }
        if o.force && !o.bless {
            bail!("--force only goes with --bless (to bless a failing run)");
        }
        o.budgets = match budgets {
            Some(b) => b,
            None => find_budgets()?,
        };
        if o.reports.as_os_str().is_empty() {
            o.reports = super::args::default_reports(&o.budgets);
        }
        if o.quick && o.bless {
            bail!("--quick runs never bless a baseline: drop --quick to bless");
        }
        if !browser
            && (!o.envs.is_empty()
                || o.quick
                || o.browser_ws.is_some()
                || o.harness_addr.is_some()
                || o.fresh
                || o.fixed_samples.is_some())
        {
            bail!("--env, --quick, --fresh, --browser-ws, --harness-addr belong to `budget`, not `size`");
        }
        Ok(o)
    }
}

/// Entry point of `budget` and `size`. On an error or a panic every report
/// is replaced by its error version (no records), so nothing stale reads as
/// a pass.
pub fn run(opts: Options) -> Result<u8> {
    let subject_dir = opts
        .budgets
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    super::guarded(&opts.reports.clone(), &subject_dir, || pipeline(&opts))
}

fn pipeline(opts: &Options) -> Result<u8> {
    let (t0, started) = (Instant::now(), now_s());
    if std::env::var_os("BUDGET_TEST_PANIC").is_some() {
        panic!("BUDGET_TEST_PANIC is set: the test of the panic path");
    }
    let mut cfg = config::load(&opts.budgets)?;
    build::prepare_toolchain(&mut cfg)?;
    let cfg = cfg;
    let profiles = select(
        &cfg.profiles
            .iter()
            .map(|p| p.name.clone())
            .collect::<Vec<_>>(),
        &opts.profiles,
        "profile",
    )?;
    let envs = if opts.browser {
        select(
            &cfg.environments.keys().cloned().collect::<Vec<_>>(),
            &opts.envs,
            "environment",
        )?
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
    cfg.check_scenarios(&metrics)?;

    // The base of the comparisons: --against REF, else the blessed baseline.
    let blessed = baseline::load(&opts.reports)?;
    let base = match &opts.against {
        Some(r) => Some(subject::base_from_ref(&cfg, r, &profiles, &metrics)?),
        None => blessed.as_ref().map(|b| b.as_base(&opts.reports)),
    };
    // What the commits since the base accept (Budget-Accept trailers).
    let acceptances = subject::acceptances(&cfg, base.as_ref(), &profiles)?;

    // build -> optimize -> size -> attribute, per profile, and what the
    // later stages need of it (its dependency closure, its reference builds).
    let mut arts = Vec::new();
    for name in &profiles {
        let profile = cfg
            .profile(name)
            .ok_or_else(|| anyhow!("unknown profile {name}"))?;
        let built = subject::build(&cfg, profile, name)?;
        let optimized = subject::optimize(&cfg, profile, built)?;
        let sizes = subject::sizes(&optimized)?;
        let attribution = subject::attribute(&cfg, name, &optimized, base.as_ref())?;
        let analyzed = subject::Analyzed {
            optimized,
            sizes,
            attribution,
        };
        arts.push(subject::artifacts(
            &cfg,
            &metrics,
            profile,
            name,
            analyzed,
            &opts.reports,
            base.as_ref(),
        )?);
    }

    // measure.
    let (measured, fingerprint) =
        measure_stage(opts, &cfg, &metrics, &profiles, &envs, &arts, base.as_ref())?;

    // gate, against the history the ledger holds (locked until the run is
    // appended; a quick run is gated against none and appends nothing).
    let infos: Vec<ArtifactInfo> = arts.iter().map(|a| a.info.clone()).collect();
    let run = GateRun {
        cfg: &cfg,
        metrics: &metrics,
        profiles: &profiles,
        arts: &infos,
        contributors: arts
            .iter()
            .filter_map(|a| {
                Some((
                    a.info.profile.clone(),
                    a.attribution.as_ref()?.top_contributors(5),
                ))
            })
            .collect(),
        size_bases: size_bases(&metrics, &profiles, base.as_ref(), blessed.as_ref()),
        measured: &measured,
        commit: &commit,
        fingerprint: &fingerprint,
        started,
        wall_s: t0.elapsed().as_secs_f64(),
        quick: opts.quick,
        environments: if opts.browser {
            envs.clone()
        } else {
            vec!["size".into()]
        },
        run_tag: "",
        protocol: protocol_used(&cfg, &metrics, opts.quick),
        missing: Default::default(),
        acceptances: &acceptances,
    };
    let summary = super::gate_and_report(&run, &opts.reports, &arts)?;

    if opts.quick {
        let failing = summary
            .records
            .iter()
            .filter(|r| r.status == Status::Fail)
            .count();
        eprintln!(
            "budget: --quick: not gating ({} samples per seed): no escalation, no ledger entry, exit 0 whatever the figures{}",
            cfg.protocol.quick_iterations,
            if failing > 0 { format!(" ({failing} figure(s) above would fail a gating run)") } else { String::new() }
        );
        return Ok(0);
    }
    if opts.bless {
        bless_unless_failing(&summary, &arts, opts)?;
    }
    Ok(if summary.status == Some(Status::Fail) {
        1
    } else {
        0
    })
}

/// The measure stage: every selected scenario metric in the browser (or on
/// fixed samples), and the fingerprint of where it ran. Each key is first
/// given its identity; a key whose base is the candidate is measured
/// without the base, and one whose identity was measured before is taken
/// from the store (`reuse.rs`), unless `--fresh`.
fn measure_stage(
    opts: &Options,
    cfg: &config::Config,
    metrics: &[&MetricSpec],
    profiles: &[String],
    envs: &[String],
    arts: &[ProfileArtifacts],
    base: Option<&Base>,
) -> Result<(Measured, Fingerprint)> {
    let mut fingerprint = fingerprint::of_host(cfg);
    let measured = if metrics
        .iter()
        .any(|m| matches!(m.source, Source::Scenario(_)))
    {
        let mut plan = measure::plan(cfg, metrics, profiles, opts.quick);
        let mut m: Box<dyn Measurer> = match &opts.fixed_samples {
            Some(spec) => Box::new(fixed_measurer(spec)?),
            None => Box::new(crate::engines::Engines::new(
                cfg,
                opts.browser_ws.as_deref(),
                opts.harness_addr,
            )),
        };
        measure::identify(cfg, &mut plan, arts, base, m.as_mut(), opts.quick)?;
        let (plan, reused) = crate::reuse::take(cfg, &opts.reports, plan, base, opts.fresh)?;
        if !reused.is_empty() {
            eprintln!(
                "budget: {} figure(s) taken from earlier runs that measured the same inputs (--fresh measures them again); {} to measure",
                reused.len(),
                plan.len()
            );
        }
        let mut out = measure::run(
            cfg,
            &plan,
            arts,
            base,
            m.as_mut(),
            measure::RunOptions { quick: opts.quick },
        )?;
        out.results.extend(reused);
        m.fingerprint(&mut fingerprint);
        out
    } else {
        Measured::default()
    };
    fingerprint::add_environments(&mut fingerprint, cfg, envs, &measured);
    Ok((measured, fingerprint))
}

/// The protocol the timings were measured with, when any were.
fn protocol_used(
    cfg: &config::Config,
    metrics: &[&MetricSpec],
    quick: bool,
) -> Option<ProtocolUsed> {
    let timed = metrics
        .iter()
        .any(|m| matches!(m.source, Source::Scenario(_)));
    timed.then(|| ProtocolUsed {
        latency_iterations: if quick {
            cfg.protocol.quick_iterations
        } else {
            cfg.protocol.latency_iterations
        },
        ..ProtocolUsed::of(&cfg.protocol)
    })
}

/// Each size key's base value: the base build's size, else the blessed
/// figure (an old baseline without artifacts).
fn size_bases(
    metrics: &[&MetricSpec],
    profiles: &[String],
    base: Option<&Base>,
    blessed: Option<&baseline::Baseline>,
) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for m in metrics {
        let Source::Size(kind) = &m.source else {
            continue;
        };
        for p in profiles.iter().filter(|p| m.caps.contains_key(*p)) {
            let key = ledger::key(&m.id, p, &m.environment);
            let value = match base
                .and_then(|b| b.profiles.get(p))
                .and_then(|bp| bp.sizes.as_ref())
            {
                Some(sizes) => Some(size::in_unit(size::bytes_of(sizes, *kind), &m.unit)),
                None => blessed.and_then(|b| b.points.get(&key)).map(|x| x.value),
            };
            out.extend(value.map(|v| (key, v)));
        }
    }
    out
}

/// `--bless`: a baseline is a state the gate accepts, so a failing run is
/// blessed only with `--force`.
fn bless_unless_failing(
    summary: &crate::summary::Summary,
    arts: &[ProfileArtifacts],
    opts: &Options,
) -> Result<()> {
    if summary.status == Some(Status::Fail) && !opts.force {
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
        return Ok(());
    }
    baseline::bless(summary, arts, &opts.reports)
}

/// `--fixed-samples MARKER:FACTOR` (tests only).
fn fixed_measurer(spec: &str) -> Result<measure::FixedMeasurer> {
    let mut m = measure::FixedMeasurer::new();
    if !spec.is_empty() && spec != "-" {
        let (marker, factor) = spec
            .split_once(':')
            .ok_or_else(|| anyhow!("--fixed-samples takes MARKER:FACTOR"))?;
        m.slow_marker = Some(marker.to_string());
        m.slowdown = factor
            .parse()
            .map_err(|_| anyhow!("--fixed-samples: `{factor}` is not a number"))?;
    }
    Ok(m)
}
