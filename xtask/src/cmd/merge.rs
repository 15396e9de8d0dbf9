//! `cargo xtask merge SHARD.json... [--budgets FILE] [--reports DIR]`: the
//! union of shard summaries, histograms merged exactly, gated again with
//! every shard's live comparisons kept.
//!
//! Nothing passes by omission: the keys expected are every metric x
//! profile x environment of `budgets.toml`, so a shard that never arrived
//! (CI's upload step only warns) leaves failing records that name it. Shards
//! must come from one commit and one measurement protocol, and each record
//! keeps the fingerprint of the shard that measured it.

use super::args::{Arg, Args};
use crate::config::{self, Config, MetricSpec, Source};
use crate::gate::Status;
use crate::gating::GateRun;
use crate::ledger;
use crate::measure::Measured;
use crate::summary::{ArtifactInfo, ProtocolUsed, Summary, SCHEMA_VERSION};
use crate::util::{find_budgets, now_s};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub fn cli(args: &[String]) -> Result<u8> {
    let mut budgets = None;
    let mut reports: Option<PathBuf> = None;
    let mut shards = Vec::new();
    let mut a = Args::new("merge", args);
    while let Some(arg) = a.next_arg() {
        match arg {
            Arg::Flag("--budgets") => budgets = Some(PathBuf::from(a.value("--budgets")?)),
            Arg::Flag("--reports") => reports = Some(PathBuf::from(a.value("--reports")?)),
            Arg::Flag(f) => return Err(a.unknown(f)),
            Arg::Positional(p) => shards.push(PathBuf::from(p)),
        }
    }
    let budgets = match budgets {
        Some(b) => b,
        None => find_budgets()?,
    };
    // Reports live next to the budgets file, as for `budget`.
    let reports = reports.unwrap_or_else(|| super::args::default_reports(&budgets));
    super::guarded(&reports, &crate::util::subject_dir(&budgets), || {
        merge(&budgets, &reports, &shards)
    })
}

/// A shard summary, checked to be a complete gating run of this schema.
fn load_shard(p: &Path) -> Result<Summary> {
    let t = std::fs::read_to_string(p).with_context(|| format!("reading shard {}", p.display()))?;
    let s: Summary = serde_json::from_str(&t).with_context(|| {
        format!(
            "shard {} is not a summary of schema {SCHEMA_VERSION}",
            p.display()
        )
    })?;
    if s.quick {
        bail!("shard {} is a --quick run, which cannot be merged into a gating result; rerun that shard without --quick", p.display());
    }
    if s.outcome != "ok" {
        bail!(
            "shard {} did not complete ({}); rerun it",
            p.display(),
            s.error.unwrap_or_default()
        );
    }
    if s.schema_version != SCHEMA_VERSION {
        bail!(
            "shard {} has summary schema {}, expected {SCHEMA_VERSION}",
            p.display(),
            s.schema_version
        );
    }
    Ok(s)
}

/// Shards must measure with the protocol of the budgets file they are
/// merged under: other seeds or iteration counts make figures that do not
/// mean the same thing.
fn check_protocol(cfg: &Config, path: &Path, s: &Summary) -> Result<()> {
    let timed = s.records.iter().any(|r| !r.per_seed.is_empty());
    let want = ProtocolUsed::of(&cfg.protocol);
    match &s.protocol {
        _ if !timed => Ok(()),
        Some(p) if *p == want => Ok(()),
        Some(p) => bail!(
            "shard {} was measured with another protocol than {} says (seeds {:?}, {} latency iterations, heap {}+{}, {} blocks; \
             expected seeds {:?}, {}, heap {}+{}, {} blocks): rerun it with the same budgets file",
            path.display(),
            cfg.budgets_file.display(),
            p.seeds,
            p.latency_iterations,
            p.heap_warmup,
            p.heap_samples,
            p.blocks,
            want.seeds,
            want.latency_iterations,
            want.heap_warmup,
            want.heap_samples,
            want.blocks
        ),
        None => bail!("shard {} does not say which protocol it was measured with (an older gate wrote it): rerun it", path.display()),
    }
}

/// Long by design: the merge in the order its checks must run (every shard read and checked against the others before any figure is combined), then the shared gate -> ledger -> report tail.
fn merge(budgets: &Path, reports: &Path, shard_paths: &[PathBuf]) -> Result<u8> {
    if shard_paths.is_empty() {
        bail!("merge needs at least one shard summary (reports/summary.json of each shard)");
    }
    let cfg = config::load(budgets)?;
    let summaries: Vec<Summary> = shard_paths
        .iter()
        .map(|p| load_shard(p))
        .collect::<Result<_>>()?;
    for (p, s) in shard_paths.iter().zip(&summaries) {
        check_protocol(&cfg, p, s)?;
    }
    let merged = Measured::from_summaries(&summaries, &cfg)?;
    let first = &summaries[0];
    let mut infos: Vec<ArtifactInfo> = Vec::new();
    for (p, s) in shard_paths.iter().zip(&summaries) {
        if s.commit != first.commit {
            bail!(
                "shards come from different commits ({} in {}, {} in {})",
                first.commit,
                shard_paths[0].display(),
                s.commit,
                p.display()
            );
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
    }
    // Every key budgets.toml defines is expected, whichever shards came.
    let profiles: Vec<String> = cfg.profiles.iter().map(|p| p.name.clone()).collect();
    let envs: Vec<String> = cfg.environments.keys().cloned().collect();
    let metrics: Vec<&MetricSpec> = cfg.metrics.iter().collect();
    let arrived: Vec<String> = summaries.iter().map(shard_label).collect();
    let mut missing = BTreeMap::new();
    for m in &metrics {
        for profile in &profiles {
            let shard = match &m.source {
                Source::Size(_) => format!("`--profile {profile}` (any environment)"),
                Source::Scenario(_) => format!("`--profile {profile} --env {}`", m.environment),
            };
            let why = format!(
                "no shard carried this figure: the shard {shard} is missing (merged: {})",
                arrived.join("; ")
            );
            missing.insert(ledger::key(&m.id, profile, &m.environment), why);
        }
    }
    let mut fingerprint = first.fingerprint.clone();
    for s in &summaries[1..] {
        fingerprint
            .environments
            .extend(s.fingerprint.environments.clone());
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
        .filter_map(|r| {
            r.baseline_value
                .map(|b| (ledger::key(&r.metric_id, &r.profile, &r.environment), b))
        })
        .collect();
    let timed = summaries.iter().any(|s| s.protocol.is_some());
    // Each shard read the trailers between its base and the candidate:
    // the same commits, so their union is any one's (kept in order).
    let mut acceptances: Vec<crate::accept::Acceptance> = Vec::new();
    for a in summaries.iter().flat_map(|s| &s.acceptances) {
        if !acceptances.contains(a) {
            acceptances.push(a.clone());
        }
    }
    let run = GateRun {
        cfg: &cfg,
        metrics: &metrics,
        profiles: &profiles,
        arts: &infos,
        contributors: BTreeMap::new(),
        size_bases,
        measured: &merged,
        commit: &first.commit,
        fingerprint: &fingerprint,
        started: now_s(),
        wall_s: 0.0,
        quick: false,
        environments: envs,
        run_tag: "-merge",
        protocol: timed.then(|| ProtocolUsed::of(&cfg.protocol)),
        missing,
        acceptances: &acceptances,
    };
    let summary = super::gate_and_report(&run, reports, &[])?;
    let missing = summary.records.iter().filter(|r| r.value.is_none()).count();
    if missing > 0 {
        eprintln!("merge: {missing} figure(s) of {} have no shard; each fails and names the shard to rerun", cfg.budgets_file.display());
    }
    Ok(if summary.status == Some(Status::Fail) {
        1
    } else {
        0
    })
}

/// What a shard covered, in words (`core-min x desktop, mobile`).
fn shard_label(s: &Summary) -> String {
    format!("{} x {}", s.profiles.join(","), s.environments.join(","))
}
