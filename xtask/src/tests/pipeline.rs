//! The pipeline after measurement on fixed samples: gate, ledger, reports
//! and merge, with a measurer that needs no browser.

use super::common::{self, root};
use super::record;
use crate::config;
use crate::gate::Status;
use crate::ledger::Ledger;
use crate::report::{self, Exporter};
use crate::summary::*;

/// Artifacts that exist only as names: the fixed measurer never opens them.
fn fixed_artifacts(cfg: &config::Config, tag: &str) -> Vec<crate::artifacts::ProfileArtifacts> {
    artifacts_under(cfg, std::path::Path::new(&format!("/fixed/{tag}")))
}

/// Artifacts named under `top` (`top/<profile>/shipped.wasm`, its named
/// twin and its `without-trace` reference build); nothing is written.
pub(super) fn artifacts_under(
    cfg: &config::Config,
    top: &std::path::Path,
) -> Vec<crate::artifacts::ProfileArtifacts> {
    cfg.profiles
        .iter()
        .map(|p| {
            let dir = top.join(&p.name);
            let info = ArtifactInfo {
                profile: p.name.clone(),
                input: format!("{}/input.wasm", dir.display()),
                shipped: format!("{}/shipped.wasm", dir.display()),
                named_twin: format!("{}/named.wasm", dir.display()),
                sizes: crate::size::Sizes {
                    raw_bytes: 34_000,
                    gzip_bytes: 15_000,
                    brotli_bytes: 13_000,
                    stripped_bytes: 33_000,
                },
                input_raw_bytes: 60_000,
                features: vec![],
                build_command: "cargo build (fixed)".into(),
                toolchain: String::new(),
                rustc: String::new(),
                optimize_command: "wasm-opt (fixed)".into(),
                optimize_cached: true,
                js_glue: None,
                attribution: vec![],
                dependencies: Some(crate::closure::Closure {
                    command: "cargo tree (fixed)".into(),
                    ..Default::default()
                }),
            };
            let references = [(
                crate::artifacts::reference_key(&["trace".to_string()]),
                crate::artifacts::Runnable {
                    wasm: dir.join("without-trace.wasm"),
                    glue: None,
                },
            )]
            .into();
            crate::artifacts::ProfileArtifacts {
                info,
                shipped: dir.join("shipped.wasm"),
                named: dir.join("named.wasm"),
                glue: None,
                attribution: None,
                references,
            }
        })
        .collect()
}

fn base_from(arts: &[crate::artifacts::ProfileArtifacts]) -> crate::artifacts::Base {
    crate::artifacts::Base::of(arts, "--against base (fixed)")
}

/// Measure on fixed samples, then gate and report for real (ledger,
/// summary, markdown, HTML) into a scratch directory.
fn fixed_pipeline(
    name: &str,
    slow: Option<(&str, f64)>,
    base: impl Fn(&[crate::artifacts::ProfileArtifacts]) -> crate::artifacts::Base,
) -> Summary {
    let cfg = config::load(&root().join("budgets.toml")).unwrap();
    let envs = ["desktop".to_string()];
    let metrics: Vec<&config::MetricSpec> = cfg
        .metrics
        .iter()
        .filter(|m| matches!(m.source, config::Source::Size(_)) || envs.contains(&m.environment))
        .collect();
    let profiles: Vec<String> = cfg.profiles.iter().map(|p| p.name.clone()).collect();
    let cand = fixed_artifacts(&cfg, "candidate");
    let base_arts = fixed_artifacts(&cfg, "base");
    let base = base(&base_arts);
    let mut m = crate::measure::FixedMeasurer::new();
    if let Some((marker, factor)) = slow {
        m.slow_marker = Some(marker.into());
        m.slowdown = factor;
    }
    let plan = crate::measure::plan(&cfg, &metrics, &profiles, false);
    let measured =
        crate::measure::run(&cfg, &plan, &cand, Some(&base), &mut m, Default::default()).unwrap();
    let reports = common::TempDir::new(&format!("fixed-{name}"));
    let infos: Vec<ArtifactInfo> = cand.iter().map(|a| a.info.clone()).collect();
    let mut fp = Fingerprint::default();
    crate::measure::Measurer::fingerprint(&m, &mut fp);
    let run = crate::gating::GateRun {
        cfg: &cfg,
        metrics: &metrics,
        profiles: &profiles,
        arts: &infos,
        contributors: Default::default(),
        size_bases: metrics
            .iter()
            .filter(|m| matches!(m.source, config::Source::Size(_)))
            .flat_map(|m| {
                profiles.iter().map(|p| {
                    (
                        crate::ledger::key(&m.id, p, &m.environment),
                        34_000.0 / 1024.0,
                    )
                })
            })
            .collect(),
        measured: &measured,
        commit: "fixed",
        fingerprint: &fp,
        started: 1_800_000_000,
        wall_s: 1.0,
        quick: false,
        environments: envs.to_vec(),
        run_tag: "",
        protocol: Some(crate::summary::ProtocolUsed::of(&cfg.protocol)),
        missing: Default::default(),
        acceptances: &[],
    };
    let summary = crate::cmd::gate_and_report(&run, &reports, &cand).unwrap();
    for f in ["summary.json", "summary.md", "report.html", "ledger.json"] {
        assert!(reports.join(f).is_file(), "{f} written");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("summary.json")).unwrap())
            .unwrap();
    let violations = common::schema::check_summary(&json);
    assert!(violations.is_empty(), "{violations:#?}");
    // Every measured key says what it cost: timings spent time in their
    // windows, heap samples none.
    for r in summary
        .records
        .iter()
        .filter(|r| r.environment != "size" && r.metric_id != "M-DEPS-01")
    {
        let c = r
            .cost
            .unwrap_or_else(|| panic!("{} {} has no cost", r.metric_id, r.profile));
        assert_eq!(
            c.timed_s > 0.0,
            r.unit != "MiB",
            "{} {}: {c:?}",
            r.metric_id,
            r.profile
        );
    }
    assert!(
        summary
            .cost
            .values()
            .all(|c| c.timed_s > 0.0 && c.measuring_s > 0.0),
        "{:?}",
        summary.cost
    );
    std::fs::remove_dir_all(&reports).unwrap();
    summary
}

/// Base = candidate (fixed, independent samples) gates green, and
/// every timing is compared live and judged unchanged.
#[test]
fn fixed_samples_a_over_a_is_unchanged_and_passes() {
    let s = fixed_pipeline("aa", None, base_from);
    assert_eq!(
        s.status,
        Some(Status::Pass),
        "{}",
        report::terminal::render(&s, false)
    );
    let timed: Vec<&Record> = s
        .records
        .iter()
        .filter(|r| r.environment == "desktop")
        .collect();
    assert!(!timed.is_empty());
    for r in timed {
        let c = r
            .comparison
            .as_ref()
            .unwrap_or_else(|| panic!("{} {} has no comparison", r.metric_id, r.profile));
        assert_eq!(
            c.verdict,
            crate::stats::AbVerdict::Unchanged,
            "{} {}: {}",
            r.metric_id,
            r.profile,
            c.reason
        );
        let ci = r.value_ci.unwrap();
        assert!(
            ci.lo <= r.value.unwrap() && r.value.unwrap() <= ci.hi,
            "{ci:?}"
        );
        assert!(
            r.clock.is_none() || !r.verdict.unresolved,
            "{}",
            r.metric_id
        );
    }
    // 04D is relative: compared in percentage points, near zero overhead.
    let d = record(&s, "M-PERF-04D", "core-trace");
    assert_eq!(d.comparison.as_ref().unwrap().measure, "difference_pp");
    assert!(d.value.unwrap().abs() < 3.0, "{:?}", d.value);
}

/// A +15 % slowdown of the candidate is "regressed" with its
/// ratio and interval in words, and the run fails.
#[test]
fn fixed_samples_a_15_percent_slowdown_is_regressed_and_fails() {
    let s = fixed_pipeline(
        "slow",
        Some(("/candidate/core-min/shipped", 1.15)),
        base_from,
    );
    assert_eq!(s.status, Some(Status::Fail));
    let r = record(&s, "M-PERF-02A", "core-min");
    let c = r.comparison.as_ref().unwrap();
    assert_eq!(
        c.verdict,
        crate::stats::AbVerdict::Regressed,
        "{}",
        c.reason
    );
    let e = c.estimate.unwrap();
    assert!((e.point - 1.15).abs() < 0.03 && e.lo > 1.0, "{e:?}");
    assert!(
        r.verdict
            .reasons
            .iter()
            .any(|x| x.contains("regressed") && x.contains("95 % CI")),
        "{:?}",
        r.verdict.reasons
    );
    // Other profiles were not slowed.
    assert_eq!(
        record(&s, "M-PERF-02A", "core-trace")
            .comparison
            .as_ref()
            .unwrap()
            .verdict,
        crate::stats::AbVerdict::Unchanged
    );
    let md = report::markdown::Markdown.render(&report::ReportData {
        summary: &s,
        ledger: &Ledger::empty(),
        cdfs: &Default::default(),
        attributions: vec![],
    });
    assert!(md.contains("regressed"), "{md}");
}

/// A fixed-sample measurer that logs every scenario run it is handed.
pub(super) struct Logging {
    pub(super) inner: crate::measure::FixedMeasurer,
    pub(super) runs: Vec<crate::measure::ScenarioRun>,
}

impl crate::measure::Measurer for Logging {
    fn run_many(
        &mut self,
        runs: &[crate::measure::ScenarioRun],
    ) -> Vec<anyhow::Result<crate::measure::ScenarioOutput>> {
        self.runs.extend(runs.iter().cloned());
        self.inner.run_many(runs)
    }
    fn timer_resolution_ms(&self, env: &str) -> Option<f64> {
        self.inner.timer_resolution_ms(env)
    }
    fn prepare_environment(
        &mut self,
        env: &str,
        c: &config::Environment,
    ) -> anyhow::Result<crate::measure::EnvInfo> {
        self.inner.prepare_environment(env, c)
    }
    fn browser_version(&mut self, env: &str) -> anyhow::Result<String> {
        self.inner.browser_version(env)
    }
    fn describe(&self, env: &str) -> String {
        self.inner.describe(env)
    }
}

/// An environment's tasks are measured seed by seed (every
/// task's first seed, then every task's second...), so a host spell of
/// tens of seconds lands in one seed of many keys, not in all of one key's.
#[test]
fn tasks_are_measured_seed_by_seed_across_an_environment() {
    let cfg = config::load(&root().join("budgets.toml")).unwrap();
    let metrics: Vec<&config::MetricSpec> = cfg
        .metrics
        .iter()
        .filter(|m| ["M-PERF-02A", "M-PERF-03A", "M-PERF-04A"].contains(&m.id.as_str()))
        .collect();
    let profiles = vec!["core-min".to_string(), "full-dev".to_string()];
    let cand = fixed_artifacts(&cfg, "candidate");
    let mut m = Logging {
        inner: crate::measure::FixedMeasurer::new(),
        runs: Vec::new(),
    };
    let plan = crate::measure::plan(&cfg, &metrics, &profiles, false);
    assert_eq!(plan.len(), 6);
    crate::measure::run(&cfg, &plan, &cand, None, &mut m, Default::default()).unwrap();
    // Heap tasks first, all their seeds, before any timing: the page's JS
    // heap keeps something of every realm that ran before.
    let heap_runs = 2 * cfg.protocol.seeds.len();
    assert!(
        m.runs[..heap_runs]
            .iter()
            .all(|r| r.metric_id == "M-PERF-03A"),
        "heap first"
    );
    assert!(m.runs[heap_runs..]
        .iter()
        .all(|r| r.metric_id != "M-PERF-03A"));
    m.runs.drain(..heap_runs);
    let seed_order: Vec<u64> = m.runs.iter().map(|r| r.seed).collect();
    assert!(
        seed_order
            .windows(2)
            .all(|w| cfg.protocol.seeds.iter().position(|&s| s == w[0])
                <= cfg.protocol.seeds.iter().position(|&s| s == w[1])),
        "seeds out of order: {seed_order:?}"
    );
    let first_seed: std::collections::BTreeSet<(String, String)> = m
        .runs
        .iter()
        .filter(|r| r.seed == cfg.protocol.seeds[0])
        .map(|r| (r.metric_id.clone(), r.profile.clone()))
        .collect();
    assert_eq!(
        first_seed.len(),
        4,
        "every task runs its first seed before any task runs its second: {first_seed:?}"
    );
}

/// A relative metric runs each build paired with its reference
/// build in one block (the scenario's `h.pair`), never the reference in a
/// block of its own, and files the pair's samples as the reference arm's
/// block of the same round: a +10 % candidate reads as a +10 % overhead,
/// regressed against the base's by more than the 3-point limit.
#[test]
fn relative_metric_runs_each_build_paired_with_its_reference() {
    let cfg = config::load(&root().join("budgets.toml")).unwrap();
    let metrics: Vec<&config::MetricSpec> = cfg
        .metrics
        .iter()
        .filter(|m| m.id == "M-PERF-04D")
        .collect();
    let profiles = vec!["full-dev".to_string()];
    let cand = fixed_artifacts(&cfg, "candidate");
    let base = base_from(&fixed_artifacts(&cfg, "base"));
    let mut inner = crate::measure::FixedMeasurer::new();
    inner.slow_marker = Some("/candidate/full-dev/shipped".into());
    inner.slowdown = 1.10;
    let mut m = Logging {
        inner,
        runs: Vec::new(),
    };
    let plan = crate::measure::plan(&cfg, &metrics, &profiles, false);
    let measured =
        crate::measure::run(&cfg, &plan, &cand, Some(&base), &mut m, Default::default()).unwrap();

    let per_arm = (cfg.protocol.blocks as usize) * cfg.protocol.seeds.len();
    let runs: Vec<(std::path::PathBuf, Option<std::path::PathBuf>)> = m
        .runs
        .iter()
        .map(|r| (r.wasm.clone(), r.pair.as_ref().map(|p| p.wasm.clone())))
        .collect();
    assert_eq!(
        runs.len(),
        2 * per_arm,
        "one run per block of the candidate and of the base: {runs:?}"
    );
    for (wasm, pair) in &runs {
        let dir = wasm.parent().unwrap();
        assert!(
            wasm.ends_with("shipped.wasm"),
            "a reference build ran a block of its own: {wasm:?}"
        );
        assert_eq!(
            pair.as_deref(),
            Some(dir.join("without-trace.wasm").as_path()),
            "{wasm:?} ran without its reference"
        );
    }
    assert_eq!(
        runs.iter()
            .filter(|(w, _)| w.starts_with("/fixed/candidate"))
            .count(),
        per_arm
    );

    let r = &measured.results[&crate::ledger::key("M-PERF-04D", "full-dev", "desktop")];
    assert!((r.value - 10.0).abs() < 1.5, "overhead {}", r.value);
    let c = r.comparison.as_ref().unwrap();
    assert_eq!(
        c.verdict,
        crate::stats::AbVerdict::Regressed,
        "{}",
        c.reason
    );
}

/// A base without the reference build of a relative metric makes
/// that comparison "not comparable", with the reason, and not a fail.
#[test]
fn fixed_samples_missing_base_reference_is_not_comparable() {
    let s = fixed_pipeline("noref", None, |arts| {
        let mut b = base_from(arts);
        for p in b.profiles.values_mut() {
            p.references.clear();
        }
        b
    });
    let d = record(&s, "M-PERF-04D", "full-dev");
    let c = d.comparison.as_ref().unwrap();
    assert_eq!(c.verdict, crate::stats::AbVerdict::NotComparable);
    assert!(c.reason.contains("without-trace"), "{}", c.reason);
    assert_eq!(d.status, Status::Pass);
}

/// On fixed numbers: merge re-gates a shard exactly (same
/// per-seed figures and verdicts), and every key budgets.toml defines that
/// no shard carried (here the mobile and eager environments) fails and
/// names the shard to rerun.
#[test]
fn fixed_samples_merge_is_exact_and_names_missing_shards() {
    let shard = fixed_pipeline("mergeshard", None, base_from);
    let dir = common::TempDir::new("fixed-merge");
    let shard_file = dir.join("desktop.json");
    std::fs::write(&shard_file, serde_json::to_string(&shard).unwrap()).unwrap();
    // What merge sees is the shard file (serde_json reads a float back to
    // within one ulp), so compare against the file's figures.
    let shard: Summary =
        serde_json::from_str(&std::fs::read_to_string(&shard_file).unwrap()).unwrap();
    let reports = dir.join("merged");
    let args: Vec<String> = [
        shard_file.to_str().unwrap(),
        "--budgets",
        root().join("budgets.toml").to_str().unwrap(),
        "--reports",
        reports.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(
        crate::cmd::merge::cli(&args).unwrap(),
        1,
        "an incomplete merge fails"
    );
    let merged: Summary =
        serde_json::from_str(&std::fs::read_to_string(reports.join("summary.json")).unwrap())
            .unwrap();
    for r in &shard.records {
        let m = merged
            .records
            .iter()
            .find(|x| {
                x.metric_id == r.metric_id
                    && x.profile == r.profile
                    && x.environment == r.environment
            })
            .unwrap();
        assert_eq!(
            (m.value, m.status),
            (r.value, r.status),
            "{} {}",
            r.metric_id,
            r.profile
        );
        assert_eq!(
            m.per_seed.iter().map(|s| s.value).collect::<Vec<_>>(),
            r.per_seed.iter().map(|s| s.value).collect::<Vec<_>>()
        );
        assert_eq!(
            m.comparison, r.comparison,
            "the shard's live comparison is kept"
        );
    }
    let missing: Vec<&Record> = merged
        .records
        .iter()
        .filter(|r| r.value.is_none())
        .collect();
    assert!(!missing.is_empty());
    for r in &missing {
        assert_ne!(r.environment, "desktop");
        assert_eq!(r.status, Status::Fail);
        let want = format!(
            "the shard `--profile {} --env {}` is missing",
            r.profile, r.environment
        );
        assert!(
            r.verdict.reasons.iter().any(|x| x.contains(&want)),
            "{} {}: {:?}",
            r.metric_id,
            r.profile,
            r.verdict.reasons
        );
    }
    // Shards of two commits are refused, with the error reports written.
    let mut other = shard.clone();
    other.commit = "another".into();
    let other_file = dir.join("other.json");
    std::fs::write(&other_file, serde_json::to_string(&other).unwrap()).unwrap();
    let mut two = args.clone();
    two.insert(1, other_file.display().to_string());
    let e = crate::cmd::merge::cli(&two).unwrap_err().to_string();
    assert!(e.contains("different commits"), "{e}");
    let s: Summary =
        serde_json::from_str(&std::fs::read_to_string(reports.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(s.outcome, "error");
    // A shard whose run never finished (killed: its start marker is all it
    // wrote) is refused the same way, naming what it is.
    let mut killed = Summary::incomplete("fixed".into(), 1);
    killed.protocol = shard.protocol.clone();
    let killed_file = dir.join("killed.json");
    std::fs::write(&killed_file, serde_json::to_string(&killed).unwrap()).unwrap();
    let mut with_killed = args.clone();
    with_killed.insert(1, killed_file.display().to_string());
    let e = format!("{:#}", crate::cmd::merge::cli(&with_killed).unwrap_err());
    assert!(
        e.contains("did not complete") && e.contains("has not finished"),
        "{e}"
    );
}

/// A run marks its reports as under way before it does anything, so a run
/// killed where no code of the gate runs (`kill -9`) leaves "incomplete",
/// never the earlier run's green; a finished run replaces the marker.
#[test]
fn a_run_under_way_replaces_the_earlier_green() {
    let dir = common::TempDir::new("marker");
    let green = r#"{"outcome": "ok", "status": "pass"}"#;
    std::fs::write(dir.join("summary.json"), green).unwrap();
    std::fs::write(dir.join("summary.md"), "## wasm budget: 🟢 green").unwrap();
    let seen = crate::cmd::guarded(&dir, &dir, || {
        let s: Summary = serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json"))?)?;
        let md = std::fs::read_to_string(dir.join("summary.md"))?;
        let html = std::fs::read_to_string(dir.join("report.html"))?;
        assert_eq!(s.outcome, "incomplete");
        assert!(s.records.is_empty() && s.status.is_none());
        assert!(md.starts_with("## wasm budget: ⚠️ incomplete"), "{md}");
        assert!(md.contains("never a pass") && !md.contains("green"), "{md}");
        assert!(html.contains(">incomplete</span>"), "{html}");
        Ok(7)
    });
    assert_eq!(seen.unwrap(), 7);
}

/// The host's speed: median, range and count of an environment's readings;
/// non-finite readings are dropped, and no readings give no figure.
#[test]
fn host_speed_summarizes_the_readings_of_one_environment() {
    let h = crate::summary::HostSpeed::of(&[10.0, 9.0, f64::NAN, 14.0, 9.5]).expect("readings");
    assert_eq!(
        (h.median_ms, h.min_ms, h.max_ms, h.calls),
        (9.75, 9.0, 14.0, 4)
    );
    assert_eq!(h.text(), "median 9.8 ms (9.0-14.0 over 4 calls)");
    assert!(crate::summary::HostSpeed::of(&[]).is_none());
    assert!(crate::summary::HostSpeed::of(&[f64::NAN]).is_none());
}
