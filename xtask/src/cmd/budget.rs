//! `cargo xtask budget` and `cargo xtask size`: the pipeline.
//!
//! build -> optimize -> size -> attribute -> closure (`subject`, per
//! profile) -> measure (`measure`, in `browser/`) -> gate (`gating`, pure)
//! -> ledger (`ledger::Session`) -> report (`report`); `pipeline` reads in
//! that order. Only build, optimize, closure and measure touch the outside
//! world; gating is a function of the figures and the history. Timings are
//! compared live with a base (`--against REF`, or the blessed baseline's
//! artifacts), measured in the same browser session.

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
use std::path::PathBuf;
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
    /// `--webdriver-url URL`: a WebKit's WebDriver endpoint started elsewhere.
    pub webdriver_url: Option<String>,
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
            webdriver_url: None,
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
                Arg::Flag("--webdriver-url") => o.webdriver_url = Some(a.value("--webdriver-url")?),
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
                || o.webdriver_url.is_some()
                || o.harness_addr.is_some()
                || o.fresh
                || o.fixed_samples.is_some())
        {
            bail!("--env, --quick, --fresh, --browser-ws, --webdriver-url, --harness-addr belong to `budget`, not `size`");
        }
        Ok(o)
    }
}

/// Entry point of `budget` and `size`. On an error or a panic every report
/// is replaced by its error version (no records), so nothing stale reads as
/// a pass.
pub fn run(opts: Options) -> Result<u8> {
    let subject_dir = crate::util::subject_dir(&opts.budgets);
    super::guarded(&opts.reports.clone(), &subject_dir, || pipeline(&opts))
}

/// What a run covers: the validated configuration (its toolchain resolved),
/// the selected profiles and environments, and the subject's commit.
struct Selection {
    cfg: config::Config,
    /// The browser stage runs (`budget`, not `size`).
    browser: bool,
    profiles: Vec<String>,
    envs: Vec<String>,
    commit: String,
}

impl Selection {
    fn load(opts: &Options) -> Result<Selection> {
        let mut cfg = config::load(&opts.budgets)?;
        build::prepare_toolchain(&mut cfg)?;
        let names: Vec<String> = cfg.profiles.iter().map(|p| p.name.clone()).collect();
        let profiles = select(&names, &opts.profiles, "profile")?;
        let envs = match opts.browser {
            true => select(
                &cfg.environments.keys().cloned().collect::<Vec<_>>(),
                &opts.envs,
                "environment",
            )?,
            false => vec![],
        };
        // The subject's commit (budgets.toml may live elsewhere, e.g. in CI config).
        let commit = git_commit(cfg.manifest.parent().unwrap_or(&cfg.root));
        std::fs::create_dir_all(&opts.reports)?;
        Ok(Selection {
            cfg,
            browser: opts.browser,
            profiles,
            envs,
            commit,
        })
    }

    /// The metrics the run gates: every size metric, and the scenario
    /// metrics of the selected environments when the browser stage runs.
    fn metrics(&self) -> Vec<&MetricSpec> {
        let scenario = |m: &&MetricSpec| self.envs.contains(&m.environment);
        self.cfg
            .metrics
            .iter()
            .filter(|m| matches!(m.source, Source::Size(_)) || scenario(m))
            .collect()
    }

    /// The environments the run's records cover (`size` without a browser).
    fn gated_environments(&self) -> Vec<String> {
        if self.browser {
            self.envs.clone()
        } else {
            vec!["size".into()]
        }
    }

    fn profile(&self, name: &str) -> Result<&config::Profile> {
        self.cfg
            .profile(name)
            .ok_or_else(|| anyhow!("unknown profile {name}"))
    }
}

/// The pipeline, stage by stage. Long by design only where the gate's
/// input is spelled out field by field (`GateRun`).
fn pipeline(opts: &Options) -> Result<u8> {
    let (t0, started) = (Instant::now(), now_s());
    let s = Selection::load(opts)?;
    let (cfg, metrics) = (&s.cfg, s.metrics());
    cfg.check_scenarios(&metrics)?;
    // The base, and what the commits since it accept.
    let blessed = baseline::load(&opts.reports)?;
    let base = base_of(opts, &s, &metrics, blessed.as_ref())?;
    let acceptances = subject::acceptances(cfg, base.as_ref(), &s.profiles)?;
    // build -> optimize -> size -> attribute -> closure, per profile.
    let arts = size_half(opts, &s, &metrics, base.as_ref())?;
    // measure.
    let (measured, fingerprint) = measure_stage(opts, &s, &metrics, &arts, base.as_ref())?;
    // gate -> ledger -> report.
    let infos: Vec<ArtifactInfo> = arts.iter().map(|a| a.info.clone()).collect();
    let run = GateRun {
        cfg,
        metrics: &metrics,
        profiles: &s.profiles,
        arts: &infos,
        contributors: contributors(&arts),
        size_bases: size_bases(&metrics, &s.profiles, base.as_ref(), blessed.as_ref()),
        measured: &measured,
        commit: &s.commit,
        fingerprint: &fingerprint,
        started,
        wall_s: t0.elapsed().as_secs_f64(),
        quick: opts.quick,
        environments: s.gated_environments(),
        run_tag: "",
        protocol: protocol_used(cfg, &metrics, opts.quick),
        missing: Default::default(),
        acceptances: &acceptances,
    };
    let summary = super::gate_and_report(&run, &opts.reports, &arts)?;
    conclude(opts, cfg, &summary, &arts)
}

/// The base of the comparisons: `--against REF` (its size half built in a
/// git worktree, `subject::base_from_ref`), else the blessed baseline.
fn base_of(
    opts: &Options,
    s: &Selection,
    metrics: &[&MetricSpec],
    blessed: Option<&baseline::Baseline>,
) -> Result<Option<Base>> {
    Ok(match &opts.against {
        Some(r) => Some(subject::base_from_ref(&s.cfg, r, &s.profiles, metrics)?),
        None => blessed.map(|b| b.as_base(&opts.reports)),
    })
}

/// The size half of every selected profile (`subject::profile_artifacts`:
/// build -> optimize -> size -> attribute -> closure, and the reference
/// builds).
fn size_half(
    opts: &Options,
    s: &Selection,
    metrics: &[&MetricSpec],
    base: Option<&Base>,
) -> Result<Vec<ProfileArtifacts>> {
    (s.profiles.iter())
        .map(|p| {
            let profile = s.profile(p)?;
            subject::profile_artifacts(&s.cfg, profile, p, metrics, &opts.reports, base)
        })
        .collect()
}

/// Per profile, what grew it against its base (attribution's top
/// contributors), for the reasons of a size fail.
fn contributors(arts: &[ProfileArtifacts]) -> BTreeMap<String, Vec<String>> {
    arts.iter()
        .filter_map(|a| {
            let top = a.attribution.as_ref()?.top_contributors(5);
            Some((a.info.profile.clone(), top))
        })
        .collect()
}

/// The exit code, after what only some runs do: a quick run says it did
/// not gate (exit 0 whatever the figures), `--bless` blesses a run that
/// does not fail.
fn conclude(
    opts: &Options,
    cfg: &config::Config,
    summary: &crate::summary::Summary,
    arts: &[ProfileArtifacts],
) -> Result<u8> {
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
        bless_unless_failing(summary, arts, opts)?;
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
    s: &Selection,
    metrics: &[&MetricSpec],
    arts: &[ProfileArtifacts],
    base: Option<&Base>,
) -> Result<(Measured, Fingerprint)> {
    let (cfg, profiles, envs) = (&s.cfg, &s.profiles, &s.envs);
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
                crate::engines::Remote {
                    browser_ws: opts.browser_ws.clone(),
                    webdriver_url: opts.webdriver_url.clone(),
                    harness: opts.harness_addr,
                },
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
