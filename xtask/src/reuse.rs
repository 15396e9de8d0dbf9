//! Figures keyed by their inputs: a gating run stores each measured record
//! under its identity (`measure::identity`) in `reports/measured/`, beside
//! the ledger, and a later run whose key has the same identity takes the
//! figure from there instead of measuring it again, with its provenance.
//!
//! Only a key that needs no live comparison is taken: one without a base,
//! or whose base has the candidate's very identity. A base that differs is
//! measured live beside the candidate, as ever, since a comparison is only
//! as good as its pairing.
//!
//! The store is a cache of what the ledger holds: a file is written before
//! the run that measured it is appended, and removed once no run in the
//! ledger names its identity. A missing or unreadable file only costs a
//! fresh measurement. Files are written atomically and named by content,
//! so two runs at once can at worst both write the same figure.

use crate::config::Config;
use crate::ledger::{Ledger, Run};
use crate::measure::{self, MetricResult, Task};
use crate::summary::{Provenance, Record};
use crate::util::write_atomic;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One stored figure: the record as its run reported it, and that run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stored {
    pub provenance: Provenance,
    pub record: Record,
}

/// The store's directory under a run's reports.
pub fn dir(reports: &Path) -> PathBuf {
    reports.join("measured")
}

fn file(reports: &Path, identity: &str) -> PathBuf {
    dir(reports).join(format!("{identity}.json"))
}

/// The stored figure of `identity`, if the store holds a readable one.
pub fn lookup(reports: &Path, identity: &str) -> Option<Stored> {
    let text = std::fs::read_to_string(file(reports, identity)).ok()?;
    match serde_json::from_str::<Stored>(&text) {
        Ok(s) if s.record.identity.as_deref() == Some(identity) => Some(s),
        _ => {
            eprintln!("budget: the stored figure {identity} is unreadable; measuring it afresh");
            None
        }
    }
}

/// What to measure and what is already known: the plan's tasks split into
/// those the run measures and the results taken from the store. With
/// `fresh`, nothing is taken and every base is measured, identical or not
/// (the identities stay, so later runs can take these figures).
pub fn take(
    cfg: &Config,
    reports: &Path,
    plan: Vec<Task>,
    base: Option<&crate::artifacts::Base>,
    fresh: bool,
) -> Result<(Vec<Task>, BTreeMap<String, MetricResult>)> {
    let mut measure = Vec::new();
    let mut reused = BTreeMap::new();
    for mut task in plan {
        let Some(id) = task.identity.as_mut() else {
            measure.push(task);
            continue;
        };
        if fresh {
            id.base = None;
            measure.push(task);
            continue;
        }
        let needs_live_base = id.base.is_some() && !id.identical();
        let stored = (!needs_live_base)
            .then(|| lookup(reports, &id.candidate))
            .flatten();
        match stored {
            Some(s) => {
                let key =
                    crate::ledger::key(&task.metric.id, &task.profile, &task.metric.environment);
                let origin = base.map(|b| b.origin.as_str());
                let r = measure::reused_result(cfg, &task, origin, s.record, s.provenance)?;
                reused.insert(key, r);
            }
            None => measure.push(task),
        }
    }
    Ok((measure, reused))
}

/// Store every record this run measured (it has an identity and a value,
/// and was not itself reused), under its identity, as run `run`.
pub fn save(reports: &Path, run: &Run, records: &[Record]) -> Result<()> {
    for r in records {
        let (Some(id), Some(_), None) = (&r.identity, r.value, &r.reused) else {
            continue;
        };
        let stored = Stored {
            provenance: Provenance {
                run: run.id.clone(),
                commit: run.commit.clone(),
                started_unix_s: run.started_unix_s,
            },
            record: r.clone(),
        };
        write_atomic(
            &file(reports, id),
            serde_json::to_string(&stored)?.as_bytes(),
        )?;
    }
    Ok(())
}

/// Remove every stored figure no run of `ledger` names: the store keeps
/// what the ledger keeps.
pub fn prune(reports: &Path, ledger: &Ledger) -> Result<()> {
    let named: BTreeSet<&str> = ledger
        .runs
        .iter()
        .flat_map(|r| r.entries.values())
        .filter_map(|e| e.identity.as_deref())
        .collect();
    let d = dir(reports);
    let Ok(entries) = std::fs::read_dir(&d) else {
        return Ok(());
    };
    for e in entries {
        let p = e?.path();
        let Some(id) = p
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        if !named.contains(id) {
            std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
        }
    }
    Ok(())
}
