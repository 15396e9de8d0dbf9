//! The commands `main` dispatches to, one module each, and what they share:
//! the argument parser and the guard that turns an error or a panic into
//! error reports (exit 2), so no earlier green report outlives a failed run.

pub mod aa;
pub mod args;
pub mod attribute;
pub mod bisect;
pub mod budget;
pub mod calibrate;
pub mod init;
pub mod merge;

use crate::summary::Summary;
use crate::util::{git_commit, now_s};
use anyhow::{anyhow, Result};
use std::path::Path;

/// Run `job`; if it fails or panics, replace every report under `reports`
/// with an error version saying what failed, and return the error (main
/// exits 2). A panic is caught here rather than in a panic hook so that it
/// is reported like any other error, with the reports directory at hand.
pub fn guarded(reports: &Path, subject_dir: &Path, job: impl FnOnce() -> Result<u8>) -> Result<u8> {
    let started = now_s();
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
