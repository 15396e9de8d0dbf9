//! Figures keyed by their inputs, on fixed samples: what moves a key's
//! identity and what does not, a base identical to the candidate left
//! unmeasured, a figure taken from the store with its provenance, and a
//! reused warn that never counts twice toward escalation.

use super::common::{self, root};
use super::pipeline::{artifacts_under, Logging};
use crate::artifacts::{Base, ProfileArtifacts};
use crate::config::{self, Config, MetricSpec, Source};
use crate::gate::Status;
use crate::measure::{self, identity, Task};
use crate::summary::{ArtifactInfo, Fingerprint, Summary};
use std::path::Path;

fn desktop_metrics(cfg: &Config) -> Vec<&MetricSpec> {
    cfg.metrics
        .iter()
        .filter(|m| matches!(m.source, Source::Size(_)) || m.environment == "desktop")
        .collect()
}

/// Artifacts under `top` whose modules hold `bytes` and the profile's name
/// (profiles ship different bytes; two modules of one content are one
/// identity, whichever key runs them).
fn artifacts_holding(cfg: &Config, top: &Path, bytes: &[u8]) -> Vec<ProfileArtifacts> {
    let arts = artifacts_under(cfg, top);
    for a in &arts {
        let own = [bytes, a.info.profile.as_bytes()].concat();
        std::fs::create_dir_all(a.shipped.parent().unwrap()).unwrap();
        std::fs::write(&a.shipped, &own).unwrap();
        for r in a.references.values() {
            std::fs::write(&r.wasm, [&own[..], b" reference"].concat()).unwrap();
        }
    }
    arts
}

/// One gating run of the budget pipeline's measure stage and tail on fixed
/// samples: identify, take what the store holds, measure the rest, gate,
/// store and report into `reports`. The summary, and the scenario runs the
/// measurer was handed.
fn gated_run(
    cfg: &Config,
    reports: &Path,
    cand: &[ProfileArtifacts],
    base: Option<&Base>,
    fresh: bool,
    started: u64,
) -> (Summary, Vec<measure::ScenarioRun>) {
    let metrics = desktop_metrics(cfg);
    let profiles: Vec<String> = cfg.profiles.iter().map(|p| p.name.clone()).collect();
    let mut m = Logging {
        inner: measure::FixedMeasurer::new(),
        runs: Vec::new(),
    };
    let mut plan = measure::plan(cfg, &metrics, &profiles, false);
    measure::identify(cfg, &mut plan, cand, base, &mut m, false).unwrap();
    let (plan, reused) = crate::reuse::take(cfg, reports, plan, base, fresh).unwrap();
    let mut measured = measure::run(cfg, &plan, cand, base, &mut m, Default::default()).unwrap();
    measured.results.extend(reused);
    let infos: Vec<ArtifactInfo> = cand.iter().map(|a| a.info.clone()).collect();
    let mut fp = Fingerprint::default();
    measure::Measurer::fingerprint(&m.inner, &mut fp);
    let run = crate::gating::GateRun {
        cfg,
        metrics: &metrics,
        profiles: &profiles,
        arts: &infos,
        contributors: Default::default(),
        size_bases: Default::default(),
        measured: &measured,
        commit: "fixed",
        fingerprint: &fp,
        started,
        wall_s: 1.0,
        quick: false,
        environments: vec!["desktop".into()],
        run_tag: "",
        protocol: Some(crate::summary::ProtocolUsed::of(&cfg.protocol)),
        missing: Default::default(),
        acceptances: &[],
    };
    let summary = crate::cmd::gate_and_report(&run, reports, cand).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("summary.json")).unwrap())
            .unwrap();
    let violations = common::schema::check_summary(&json);
    assert!(violations.is_empty(), "{violations:#?}");
    (summary, m.runs)
}

fn timed(s: &Summary) -> Vec<&crate::summary::Record> {
    s.records
        .iter()
        .filter(|r| r.environment == "desktop")
        .collect()
}

/// The identity reads the inputs of a figure, and nothing that only moves
/// its verdict: each input moved alone moves it, a cap does not.
#[test]
fn identity_moves_with_each_input_and_not_with_a_cap() {
    let dir = common::TempDir::new("identity-inputs");
    let mut cfg = config::load(&root().join("budgets.toml")).unwrap();
    let scenarios = dir.join("scenarios");
    std::fs::create_dir_all(&scenarios).unwrap();
    for e in std::fs::read_dir(&cfg.scenarios_dir).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, scenarios.join(p.file_name().unwrap())).unwrap();
    }
    cfg.scenarios_dir = scenarios.clone();
    let arts = artifacts_holding(&cfg, &dir.join("a"), b"module one");
    let metrics = desktop_metrics(&cfg);
    let plan = measure::plan(&cfg, &metrics, &["core-min".into()], false);
    let task: &Task = plan
        .iter()
        .find(|t| t.metric.id == "M-PERF-03B")
        .expect("cancellation runs a scenario of the subject");
    let module = arts[0].runnable();
    let with_gate = |cfg: &Config, task: &Task, browser: &str, gate: &str| {
        let cx = identity::Shared {
            gate,
            browser,
            hardware: "cpu x2",
            quick: false,
        };
        let arm = identity::Arm {
            modules: vec![&module],
        };
        identity::of_arm(cfg, task, &arm, &cx).unwrap()
    };
    let id = |cfg: &Config, task: &Task, browser: &str| {
        with_gate(cfg, task, browser, identity::MEASURE_VERSION)
    };
    let first = id(&cfg, task, "Chromium 156");
    assert_ne!(
        first,
        with_gate(&cfg, task, "Chromium 156", "another gate"),
        "the gate's measuring code"
    );
    assert_eq!(first, id(&cfg, task, "Chromium 156"), "deterministic");
    assert_ne!(first, id(&cfg, task, "Chromium 157"), "browser version");

    let mut capped = task.clone();
    capped.metric.caps.values_mut().for_each(|c| c.hard *= 2.0);
    assert_eq!(
        first,
        id(&cfg, &capped, "Chromium 156"),
        "a cap is not an input"
    );

    let mut throttled = cfg.clone();
    throttled
        .environments
        .get_mut("desktop")
        .unwrap()
        .cpu_throttle = 2.0;
    assert_ne!(first, id(&throttled, task, "Chromium 156"), "throttle");

    let mut protocol = cfg.clone();
    protocol.protocol.batch += 1;
    assert_ne!(first, id(&protocol, task, "Chromium 156"), "protocol");

    let scenario = scenarios.join("cancel.js");
    let text = std::fs::read_to_string(&scenario).unwrap();
    std::fs::write(&scenario, format!("{text}\n// changed\n")).unwrap();
    let changed_scenario = id(&cfg, task, "Chromium 156");
    assert_ne!(first, changed_scenario, "scenario file");

    std::fs::write(&module.wasm, b"module two").unwrap();
    assert_ne!(
        changed_scenario,
        id(&cfg, task, "Chromium 156"),
        "shipped bytes"
    );
}

/// The gate's measuring code, as `build.rs` hashes it, covers the harness
/// page and the built-ins (a changed harness file invalidates every figure)
/// and the code that runs and reduces the samples.
#[test]
fn the_measuring_code_version_covers_the_harness_and_the_reduction() {
    let build = std::fs::read_to_string(root().join("xtask/build.rs")).unwrap();
    let list = &build[build.find("const MEASURING").unwrap()..];
    let list = &list[..list.find("];").unwrap()];
    for part in [
        "\"harness\"",
        "\"src/measure\"",
        "\"src/browser\"",
        "\"src/stats\"",
        "\"src/builtin.rs\"",
    ] {
        assert!(list.contains(part), "{part} is not hashed: {list}");
    }
    assert_eq!(
        identity::MEASURE_VERSION.len(),
        16,
        "{}",
        identity::MEASURE_VERSION
    );
}

/// A base that ships the candidate's bytes is not run: every comparison is
/// unchanged "identical inputs". The next run takes every figure from the
/// store, with the run that measured it, and a changed module is measured
/// live against its base again; `--fresh` measures every arm.
#[test]
fn identical_inputs_skip_the_base_and_a_second_run_reuses_every_figure() {
    let dir = common::TempDir::new("reuse-runs");
    let cfg = config::load(&root().join("budgets.toml")).unwrap();
    let reports = dir.join("reports");
    let cand = artifacts_holding(&cfg, &dir.join("cand"), b"same bytes");
    let base_arts = artifacts_holding(&cfg, &dir.join("base"), b"same bytes");
    let base = Base::of(&base_arts, "--against base (fixed)");

    let (first, runs) = gated_run(&cfg, &reports, &cand, Some(&base), false, 1_800_000_000);
    assert!(!runs.is_empty());
    assert!(
        runs.iter().all(|r| r.wasm.starts_with(dir.join("cand"))),
        "no base module ran"
    );
    assert_eq!(first.status, Some(Status::Pass));
    for r in timed(&first) {
        let c = r.comparison.as_ref().unwrap();
        assert!(
            c.identical_inputs,
            "{} {}: {}",
            r.metric_id, r.profile, c.reason
        );
        assert_eq!(c.verdict, crate::stats::AbVerdict::Unchanged);
        assert!(c.reason.contains("identical inputs (sha "), "{}", c.reason);
        assert!(r.identity.is_some() && r.reused.is_none());
    }
    let stored = std::fs::read_dir(crate::reuse::dir(&reports))
        .unwrap()
        .count();
    assert_eq!(stored, timed(&first).len(), "one stored figure per key");

    let (second, runs) = gated_run(&cfg, &reports, &cand, Some(&base), false, 1_800_000_100);
    assert!(runs.is_empty(), "nothing measured: {} runs", runs.len());
    let ledger = crate::ledger::Ledger::load(&reports.join("ledger.json")).unwrap();
    let first_run = &ledger.runs[0].id;
    for r in timed(&second) {
        let p = r.reused.as_ref().expect("reused");
        assert_eq!(&p.run, first_run);
        let before = super::record(&first, &r.metric_id, &r.profile);
        assert_eq!(r.value, before.value);
        assert_eq!(r.identity, before.identity);
        assert!(r.comparison.as_ref().unwrap().identical_inputs);
        assert!(
            r.verdict
                .reasons
                .iter()
                .any(|x| x.contains("reused from run")),
            "{:?}",
            r.verdict.reasons
        );
        let entry =
            &ledger.runs[1].entries[&crate::ledger::key(&r.metric_id, &r.profile, "desktop")];
        assert_eq!(entry.reused_from.as_ref(), Some(first_run));
    }
    let md = std::fs::read_to_string(reports.join("summary.md")).unwrap();
    assert!(md.contains("Measured by this run: 0 of"), "{md}");

    // The candidate changes: its keys are measured live against the base.
    let changed = artifacts_holding(&cfg, &dir.join("cand2"), b"other bytes");
    let (third, runs) = gated_run(&cfg, &reports, &changed, Some(&base), false, 1_800_000_200);
    assert!(runs.iter().any(|r| r.wasm.starts_with(dir.join("base"))));
    for r in timed(&third) {
        let c = r.comparison.as_ref().unwrap();
        assert!(!c.identical_inputs && r.reused.is_none(), "{}", c.reason);
        assert!(c.blocks > 0);
    }

    // --fresh: both arms, nothing taken.
    let (fresh, runs) = gated_run(&cfg, &reports, &cand, Some(&base), true, 1_800_000_300);
    assert!(runs.iter().any(|r| r.wasm.starts_with(dir.join("base"))));
    assert!(timed(&fresh)
        .iter()
        .all(|r| r.reused.is_none() && !r.comparison.as_ref().unwrap().identical_inputs));

    // The store keeps what the ledger names.
    let named: std::collections::BTreeSet<String> =
        crate::ledger::Ledger::load(&reports.join("ledger.json"))
            .unwrap()
            .runs
            .iter()
            .flat_map(|r| r.entries.values().filter_map(|e| e.identity.clone()))
            .collect();
    for e in std::fs::read_dir(crate::reuse::dir(&reports)).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        assert!(named.contains(name.trim_end_matches(".json")), "{name}");
    }
}

/// A reused figure in the warn band is its earlier run's observation: it
/// stays at "run 1 of 2", and the next measured one is the second.
#[test]
fn a_reused_warn_never_counts_twice_toward_escalation() {
    let dir = common::TempDir::new("reuse-escalation");
    let mut cfg = config::load(&root().join("budgets.toml")).unwrap();
    let m = cfg
        .metrics
        .iter_mut()
        .find(|m| m.id == "M-PERF-04C")
        .unwrap();
    for c in m.caps.values_mut() {
        c.warn = Some(0.0001);
        c.hard = 1e9;
    }
    let reports = dir.join("reports");
    let cand = artifacts_holding(&cfg, &dir.join("cand"), b"bytes");
    let status = |s: &Summary| super::record(s, "M-PERF-04C", "core-min").status;
    let streak = |s: &Summary| {
        super::record(s, "M-PERF-04C", "core-min")
            .verdict
            .warn_streak
    };

    let (first, _) = gated_run(&cfg, &reports, &cand, None, false, 1_800_000_000);
    assert_eq!((status(&first), streak(&first)), (Status::Warn, 1));
    let (reused, runs) = gated_run(&cfg, &reports, &cand, None, false, 1_800_000_100);
    assert!(runs.is_empty());
    assert_eq!(
        (status(&reused), streak(&reused)),
        (Status::Warn, 1),
        "not a second warn"
    );
    let (measured, _) = gated_run(&cfg, &reports, &cand, None, true, 1_800_000_200);
    assert_eq!((status(&measured), streak(&measured)), (Status::Fail, 2));
}
