//! Stage 6, gate: the records of every metric x profile (x environment)
//! with their verdicts (`assemble`), the ledger run they make
//! (`ledger_run`), and the summary the reports render (`summary`). All
//! three are pure functions of their arguments; the commands read and write
//! the ledger around them (`ledger::Session`). One path serves `budget` and
//! `merge`, so both gate alike.

use crate::config::{self, Config, MetricSpec, Source};
use crate::gate::{self, Status};
use crate::ledger::{self, Entry, Ledger, Run};
use crate::measure::Measured;
use crate::size;
use crate::summary::{
    ArtifactInfo, ClockCheck, Fingerprint, ProtocolUsed, Record, Summary, TrendPoint,
    SCHEMA_VERSION,
};
use std::collections::BTreeMap;

/// Everything the gate and the reports need from one run (budget or merge).
pub struct GateRun<'a> {
    pub cfg: &'a Config,
    pub metrics: &'a [&'a MetricSpec],
    pub profiles: &'a [String],
    pub arts: &'a [ArtifactInfo],
    /// Per profile: what grew it against its base (attribution's top
    /// contributors), for the reasons of a size fail.
    pub contributors: BTreeMap<String, Vec<String>>,
    /// Per size key: the base's size in the metric's unit.
    pub size_bases: BTreeMap<String, f64>,
    pub measured: &'a Measured,
    pub commit: &'a str,
    pub fingerprint: &'a Fingerprint,
    pub started: u64,
    pub wall_s: f64,
    pub quick: bool,
    pub environments: Vec<String>,
    /// Suffix of the ledger run id (`-merge` for merges).
    pub run_tag: &'a str,
    /// The protocol the timings were measured with (None without any).
    pub protocol: Option<ProtocolUsed>,
    /// Per key: why it may have no figure (merge: which shard is missing).
    pub missing: BTreeMap<String, String>,
    /// The `Budget-Accept:` trailers between the base and the candidate,
    /// oldest commit first (`accept.rs`).
    pub acceptances: &'a [crate::accept::Acceptance],
}

/// The ledger's entry of a gated run: its status and each record's figure.
pub fn ledger_run(r: &GateRun, records: &[Record]) -> Run {
    Run {
        id: format!("{}-{}{}", r.started, std::process::id(), r.run_tag),
        started_unix_s: r.started,
        commit: r.commit.to_string(),
        config: ledger::identity(&r.cfg.budgets_file, &r.cfg.package),
        status: gate::overall(records.iter().map(|x| x.status)),
        fingerprint: r.fingerprint.clone(),
        entries: records
            .iter()
            .map(|x| {
                let entry = Entry {
                    value: x.value,
                    lo: x.value_ci.map(|c| c.lo),
                    hi: x.value_ci.map(|c| c.hi),
                    status: x.status,
                    in_warn_band: x.verdict.in_warn_band,
                    identity: x.identity.clone(),
                    reused_from: x.reused.as_ref().map(|p| p.run.clone()),
                    accepted: x.verdict.acceptance.clone(),
                };
                (ledger::key(&x.metric_id, &x.profile, &x.environment), entry)
            })
            .collect(),
    }
}

/// The run's summary: its records, artifacts, fingerprint, and the trend of
/// the ledger as it stands after the run.
pub fn summary(r: &GateRun, records: Vec<Record>, ledger: &Ledger) -> Summary {
    Summary {
        schema_version: SCHEMA_VERSION,
        outcome: "ok".into(),
        status: Some(gate::overall(records.iter().map(|x| x.status))),
        commit: r.commit.to_string(),
        started_unix_s: r.started,
        wall_s: r.wall_s,
        quick: r.quick,
        gating: !r.quick,
        profiles: r.profiles.to_vec(),
        environments: r.environments.clone(),
        fingerprint: r.fingerprint.clone(),
        records,
        artifacts: r.arts.to_vec(),
        error: None,
        trend: ledger
            .trend(r.cfg.escalation.ledger_window)
            .into_iter()
            .map(|x| TrendPoint {
                run: x.id.clone(),
                commit: x.commit.clone(),
                status: x.status,
            })
            .collect(),
        protocol: r.protocol.clone(),
        cost: r.measured.cost.clone(),
        acceptances: r.acceptances.to_vec(),
    }
}

/// Records for every metric x profile (x environment), with verdicts,
/// escalated on the history in `ledger`. Long by design: one record's
/// fields filled in the order of the summary's schema.
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
                Source::Size(kind) => {
                    art.map(|a| size::in_unit(size::bytes_of(&a.sizes, *kind), &m.unit))
                }
                Source::Scenario(_) => measured.map(|x| x.value),
            };
            let clock = measured.and_then(|x| {
                x.clock_ticks.map(|ticks| ClockCheck {
                    tick_in_unit: x.resolution_in_unit.unwrap_or(f64::NAN),
                    ticks,
                    floor_ticks: cfg.protocol.clock_floor_ticks,
                })
            });
            let size_base = r.size_bases.get(&key).copied();
            // A reused figure is judged on the history its own run saw, so
            // it never counts twice toward escalation.
            let reused = measured.and_then(|x| x.reused.as_ref());
            let history = ledger.history(&key, &config_id, reused.map(|p| p.run.as_str()));
            let mut verdict = gate::verdict(&gate::Observation {
                value,
                value_ci: measured.and_then(|x| x.value_ci.as_ref()),
                kind: m.kind,
                caps,
                history: &history,
                size_base,
                comparison: measured.and_then(|x| x.comparison.as_ref()),
                clock: clock.as_ref(),
                growth: measured.and_then(|x| x.heap_growth.as_ref()),
                retried: measured.map(|x| x.retried.as_slice()).unwrap_or_default(),
                consecutive_warns_to_fail: cfg.escalation.consecutive_warns_to_fail,
                baseline_regression_pct: cfg.escalation.baseline_regression_pct,
                accepted: crate::accept::for_key(r.acceptances, &m.id, p, &m.environment),
            });
            let contributors = match &m.source {
                Source::Size(_)
                    if verdict.status != Status::Pass
                        || verdict.baseline_delta_pct.is_some_and(|d| d != 0.0) =>
                {
                    r.contributors.get(p).cloned().unwrap_or_default()
                }
                _ => vec![],
            };
            if !contributors.is_empty() && verdict.status != Status::Pass {
                verdict.reasons.push(format!(
                    "top contributors vs base: {}",
                    contributors.join(", ")
                ));
            }
            if let Some(p) = reused {
                verdict.reasons.push(format!(
                    "{}, which measured these very inputs (`--fresh` measures it again)",
                    p.text()
                ));
            }
            if value.is_none() {
                if let Some(why) = r.missing.get(&key) {
                    verdict.reasons.push(why.clone());
                }
            }
            let (method, commands, paths, per_seed, histogram, seed_set) =
                match (&m.source, measured) {
                    (Source::Size(kind), _) => (
                        size::method(*kind).to_string(),
                        art.map(|a| vec![a.build_command.clone(), a.optimize_command.clone()])
                            .unwrap_or_default(),
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
                    (Source::Scenario(_), None) => (
                        "not measured".into(),
                        vec![],
                        vec![],
                        vec![],
                        None,
                        cfg.protocol.seeds.clone(),
                    ),
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
                baseline_value: size_base
                    .or_else(|| comparison.as_ref().and_then(|c| c.base_value)),
                contributors,
                verdict,
                // A merged record keeps the fingerprint of the shard that
                // measured it.
                fingerprint: measured
                    .and_then(|x| x.fingerprint.clone())
                    .unwrap_or_else(|| r.fingerprint.clone()),
                value_ci: measured.and_then(|x| x.value_ci),
                clock,
                comparison,
                heap_growth: measured.and_then(|x| x.heap_growth.clone()),
                retried: measured.map(|x| x.retried.clone()).unwrap_or_default(),
                cost: measured.and_then(|x| x.cost),
                identity: measured.and_then(|x| x.identity.clone()),
                reused: reused.cloned(),
            });
        }
    }
    out.extend(r.profiles.iter().filter_map(|p| dependency_record(r, p)));
    out
}

/// The dependency record of one profile: the number of forbidden crates in
/// its wasm closure that no `allow` entry exempts, hard-capped at 0; the
/// reasons give each one's chain, each allowed one's reason, and the
/// changes against the base.
/// A profile that some metric gates but no run resolved (a merge without
/// its size shard) fails as missing, as any other expected figure does; a
/// profile nothing gates and nothing built has no record.
fn dependency_record(r: &GateRun, profile: &str) -> Option<Record> {
    let policy = r.cfg.dependencies.as_ref()?.get(profile)?;
    let closure = r
        .arts
        .iter()
        .find(|a| a.profile == profile)
        .and_then(|a| a.dependencies.as_ref());
    if closure.is_none() && !r.metrics.iter().any(|m| m.caps.contains_key(profile)) {
        return None;
    }
    let violations = closure.map(|c| c.violations());
    let status = if violations == Some(0) {
        Status::Pass
    } else {
        Status::Fail
    };
    let reasons = match closure {
        Some(c) => c.reasons(),
        None => vec![format!("no run resolved the dependency closure of profile {profile}: the shard `--profile {profile}` (any environment) is missing")],
    };
    let verdict = gate::Verdict::plain(status, reasons);
    Some(Record {
        commit: r.commit.into(),
        profile: profile.to_string(),
        environment: "size".into(),
        metric_id: policy.id.clone(),
        metric_name: "wasm dependency closure: forbidden crates".into(),
        value: violations.map(|v| v as f64),
        unit: "crates".into(),
        threshold_warn: None,
        threshold_hard: 0.0,
        kind: "hard".into(),
        status,
        seed_set: vec![],
        commands: closure.map(|c| vec![c.command.clone()]).unwrap_or_default(),
        artifact_paths: vec![],
        method: match closure {
            Some(c) => format!(
                "cargo tree of the profile's build (wasm32, its features): {} crates can ship, {} are host-only (build-dependencies, proc-macros); forbidden crates counted in the shipping closure",
                c.normal.len(),
                c.host_only.len()
            ),
            None => "not resolved".into(),
        },
        per_seed: vec![],
        histogram: None,
        baseline_value: None,
        contributors: vec![],
        verdict,
        fingerprint: r.fingerprint.clone(),
        value_ci: None,
        clock: None,
        comparison: None,
        heap_growth: None,
        retried: vec![],
        cost: None,
        identity: None,
        reused: None,
    })
}
