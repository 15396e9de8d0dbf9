//! `cargo xtask bisect` on a history written here: 16 commits of a small
//! raw-export crate, where one commit makes the timed export do 30 % more
//! work and a later one grows a data table, and every other commit only
//! edits a notes file. `init` writes the gate's configuration (with fewer
//! seeds, to keep the test short); bisect must name each commit for its
//! metric, and say "no regression" (exit 1) over a range without one. The
//! timing bisect runs in one real Chromium session; the size bisect reuses
//! its builds.

mod common;
use common::history::{self, git};
use common::TempDir;
use std::path::Path;

const TIMING_CULPRIT: usize = 5;
const SIZE_CULPRIT: usize = 11;

/// The history: commit 0 the crate, 1..=15 one change each; the shas.
fn history(repo: &Path) -> Vec<String> {
    let mut shas = vec![history::init_subject(repo, "bisect-subject")];
    for k in 1..16 {
        let msg = match k {
            TIMING_CULPRIT => {
                history::edit(repo, "src/lib.rs", "ITERS: u32 = 2000", "ITERS: u32 = 2600");
                format!("c{k}: more work per call")
            }
            SIZE_CULPRIT => {
                history::edit(
                    repo,
                    "src/lib.rs",
                    "TABLE_LEN: usize = 64",
                    "TABLE_LEN: usize = 6144",
                );
                format!("c{k}: a bigger table")
            }
            _ => {
                history::edit(
                    repo,
                    "NOTES.md",
                    "# notes\n",
                    &format!("# notes\nstep {k}\n"),
                );
                format!("c{k}: notes")
            }
        };
        shas.push(history::commit(repo, &msg));
    }
    shas
}

fn xtask(args: &[&str]) -> (Option<i32>, String) {
    let out = common::xtask_cmd().args(args).output().unwrap();
    (
        out.status.code(),
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn bisect(
    budgets: &Path,
    good: &str,
    bad: &str,
    metric: &str,
    reports: &Path,
) -> (Option<i32>, String, serde_json::Value) {
    let (code, text) = xtask(&[
        "bisect",
        "--budgets",
        budgets.to_str().unwrap(),
        "--good",
        good,
        "--bad",
        bad,
        "--metric",
        metric,
        "--profile",
        "core-min",
        "--reports",
        reports.to_str().unwrap(),
    ]);
    let json = std::fs::read_to_string(reports.join("bisect.json"))
        .map(|s| serde_json::from_str(&s).unwrap())
        .unwrap_or(serde_json::Value::Null);
    (code, text, json)
}

#[test]
fn bisect_names_the_timing_and_the_size_culprit_and_finds_nothing_where_nothing_changed() {
    let tmp = TempDir::new("bisect-history");
    let repo = tmp.join("subject");
    let shas = history(&repo);
    let budgets = history::init_gate(&repo, &tmp.join("gate"));
    history::time_work_over_three_seeds(&budgets);
    let (good, bad) = (&shas[0], &shas[15]);
    // (init's build of the crate wrote its Cargo.lock, as any cargo build would.)
    let status = git(&repo, &["status", "--porcelain"]);

    // Timing: one comparison of the ends, then at most 4 steps of two.
    let (code, text, r) = bisect(&budgets, good, bad, "CALL", &tmp.join("timing"));
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(r["outcome"], "commit", "{text}");
    let (lo, hi) = (
        r["range"][0].as_u64().unwrap() as usize,
        r["range"][1].as_u64().unwrap() as usize,
    );
    assert_eq!((lo, hi), (TIMING_CULPRIT - 1, TIMING_CULPRIT), "{text}");
    assert_eq!(r["commits"][hi]["sha"], shas[TIMING_CULPRIT].as_str());
    assert!(
        text.contains("CALL regressed at") && text.contains("c5: more work per call"),
        "{text}"
    );
    let steps = r["steps"].as_array().unwrap();
    assert!(
        (1..=4).contains(&steps.len()),
        "{} steps\n{text}",
        steps.len()
    );
    // The ratio across the culprit is about the 30 % the commit added, and
    // its interval excludes no change.
    let across = &r["across"]["estimate"];
    let (point, lo_ci) = (
        across["point"].as_f64().unwrap(),
        across["lo"].as_f64().unwrap(),
    );
    assert!(
        point > 1.15 && point < 1.45 && lo_ci > 1.0,
        "across x{point} (lo {lo_ci})\n{text}"
    );
    assert_eq!(
        r["comparisons"].as_u64().unwrap() as usize,
        1 + 2 * steps.len(),
        "{text}"
    );
    // The subject's checkout was not touched: still at the bad end, its
    // files as they were.
    assert_eq!(git(&repo, &["rev-parse", "HEAD"]), *bad);
    assert_eq!(git(&repo, &["status", "--porcelain"]), status);

    // Size: exact values, on the builds the timing bisect left.
    let (code, text, r) = bisect(&budgets, good, bad, "SIZE-GZIP", &tmp.join("size"));
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(r["outcome"], "commit", "{text}");
    assert_eq!(
        r["commits"][r["range"][1].as_u64().unwrap() as usize]["sha"],
        shas[SIZE_CULPRIT].as_str(),
        "{text}"
    );
    assert_eq!(r["comparisons"], 0);
    // The attribution diff says where the bytes went: the data.
    let crates = r["attribution_diff"]["crates"].as_array().unwrap();
    assert_eq!(crates[0]["name"], "(data)", "{text}");
    assert!(crates[0]["delta"].as_i64().unwrap() > 5000, "{text}");

    // No regression between c0 and c4: said so, exit 1, nobody blamed.
    let (code, text, r) = bisect(
        &budgets,
        good,
        &shas[TIMING_CULPRIT - 1],
        "CALL",
        &tmp.join("none"),
    );
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(r["outcome"], "no-regression", "{text}");
    assert!(r["steps"].as_array().unwrap().is_empty(), "{text}");
    assert!(text.contains("No regression"), "{text}");
}
