//! The commands `main` dispatches to, one module each, and what they share:
//! the argument parser and the guard that turns an error or a panic into
//! error reports (exit 2), so no earlier green report outlives a failed run.

pub mod aa;
pub mod advise;
pub mod args;
pub mod attribute;
pub mod bisect;
pub mod budget;
pub mod calibrate;
pub mod init;
pub mod merge;
pub mod probe;

use crate::artifacts::ProfileArtifacts;
use crate::gating::{self, GateRun};
use crate::summary::Summary;
use crate::util::{git_commit, now_s};
use anyhow::{anyhow, Result};
use std::path::Path;

/// The tail `budget` and `merge` share: gate the figures against the
/// history the ledger holds (locked until the run is appended; a quick run
/// is gated against none and appends nothing), store the figures this run
/// measured for later runs to reuse, append the run, and write the reports.
pub fn gate_and_report(
    run: &GateRun,
    reports: &Path,
    arts: &[ProfileArtifacts],
) -> Result<Summary> {
    let session = crate::ledger::Session::open(
        &reports.join("ledger.json"),
        run.cfg.escalation.ledger_window,
        !run.quick,
    )?;
    let records = gating::assemble(run, session.history());
    let entry = gating::ledger_run(run, &records);
    if !run.quick {
        crate::reuse::save(reports, &entry, &records)?;
    }
    let ledger = session.append(entry)?;
    if !run.quick {
        crate::reuse::prune(reports, &ledger)?;
    }
    let summary = gating::summary(run, records, &ledger);
    crate::report::write_all(
        &summary,
        reports,
        &ledger,
        arts,
        &run.measured.histograms_for_report(),
    )?;
    Ok(summary)
}

/// Run `job`; if it fails or panics, replace every report under `reports`
/// with an error version saying what failed, and return the error (main
/// exits 2). A panic is caught here rather than in a panic hook so that it
/// is reported like any other error, with the reports directory at hand.
pub fn guarded(reports: &Path, subject_dir: &Path, job: impl FnOnce() -> Result<u8>) -> Result<u8> {
    let started = now_s();
    // First, mark the reports as a run under way: a run killed where no
    // code of ours runs (`kill -9`, a lost runner) then leaves an
    // `incomplete` summary, never an earlier run's green.
    let marker = Summary::incomplete(git_commit(subject_dir), started);
    crate::report::write_error(&marker, reports).map_err(|e| {
        anyhow!(
            "could not mark the reports under {} as a run under way: {e:#}",
            reports.display()
        )
    })?;
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).unwrap_or_else(|payload| {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            Err(anyhow!(
                "the gate panicked (a bug in the gate; please report it): {what}"
            ))
        });
    if let Err(e) = &outcome {
        let s = Summary::error(git_commit(subject_dir), started, format!("{e:#}"));
        if let Err(w) = crate::report::write_error(&s, reports) {
            eprintln!(
                "could not write the error reports under {}: {w:#}",
                reports.display()
            );
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic anywhere in a command is caught, said as a bug, and replaces
    /// the earlier green reports with error ones (main then exits 2).
    #[test]
    fn a_panic_leaves_error_reports_not_the_earlier_green() {
        let dir = std::env::temp_dir().join(format!("xtask-guarded-{}", std::process::id()));
        let reports = dir.join("reports");
        std::fs::create_dir_all(&reports).unwrap();
        std::fs::write(reports.join("summary.md"), "green: M-PERF-01A pass").unwrap();
        let out = guarded(&reports, &dir, || -> Result<u8> {
            panic!("boom in a stage")
        });
        let e = format!("{:#}", out.unwrap_err());
        assert!(
            e.contains("the gate panicked") && e.contains("boom in a stage"),
            "{e}"
        );
        let s: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(reports.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(s["outcome"], "error");
        assert!(s["error"].as_str().unwrap().contains("boom in a stage"));
        let md = std::fs::read_to_string(reports.join("summary.md")).unwrap();
        assert!(
            md.contains("could not do its job") && !md.contains("M-PERF-01A"),
            "{md}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
