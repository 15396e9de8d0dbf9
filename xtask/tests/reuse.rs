//! Figures keyed by their inputs, end to end, in a real Chromium: a commit
//! that only edits a notes file is gated with nothing measured (every
//! timing identical to its base and taken from the run that measured
//! those inputs), a commit that changes the wasm is measured live against
//! its base, and a run killed with SIGKILL mid-measurement leaves an
//! `incomplete` summary that `merge` refuses, never the earlier green.
//! One small crate (`common::history`), init's configuration with three
//! seeds, one profile, one environment.

mod common;
use common::history;
use common::TempDir;
use std::path::Path;
use std::time::{Duration, Instant};

fn budget(budgets: &Path, reports: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec![
        "budget",
        "--budgets",
        budgets.to_str().unwrap(),
        "--reports",
        reports.to_str().unwrap(),
        "--profile",
        "core-min",
        "--env",
        "desktop",
    ];
    args.extend(extra);
    let out = common::xtask_cmd().args(&args).output().unwrap();
    (
        out.status.code(),
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn summary(reports: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(reports.join("summary.json")).unwrap()).unwrap()
}

/// The records measured in the browser (they carry an identity).
fn timed(s: &serde_json::Value) -> Vec<&serde_json::Value> {
    s["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["environment"] == "desktop")
        .collect()
}

#[test]
fn a_notes_commit_is_gated_without_measuring_a_wasm_commit_is_measured_and_a_killed_run_leaves_no_green(
) {
    let tmp = TempDir::new("reuse-history");
    let repo = tmp.join("subject");
    history::init_subject(&repo, "reuse-subject");
    let gate = tmp.join("gate");
    let budgets = history::init_gate(&repo, &gate);
    history::time_work_over_three_seeds(&budgets);
    let reports = gate.join("reports");

    // c0, no base: measured, and stored under each key's identity.
    let (code, log) = budget(&budgets, &reports, &[]);
    assert_eq!(code, Some(0), "{log}");
    let first = summary(&reports);
    assert!(timed(&first)
        .iter()
        .all(|r| r["identity"].is_string() && r["reused"].is_null()));

    // c1 edits NOTES.md only: the wasm is byte-identical, so every timing
    // is identical to its base and its figure is c0's. Nothing is measured.
    history::edit(&repo, "NOTES.md", "# notes\n", "# notes\nonly words\n");
    history::commit(&repo, "c1: notes");
    let t = Instant::now();
    let (code, log) = budget(&budgets, &reports, &["--against", "HEAD~1"]);
    let notes_s = t.elapsed().as_secs_f64();
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("; 0 to measure"), "{log}");
    let s = summary(&reports);
    for r in timed(&s) {
        assert_eq!(r["comparison"]["identical_inputs"], true, "{r}");
        assert_eq!(r["comparison"]["verdict"], "unchanged", "{r}");
        assert!(r["reused"]["run"].is_string(), "{r}");
        assert_eq!(
            r["value"],
            timed(&first)
                .iter()
                .find(|f| f["metric_id"] == r["metric_id"])
                .unwrap()["value"]
        );
    }
    let md = std::fs::read_to_string(reports.join("summary.md")).unwrap();
    assert!(md.contains("Measured by this run: 0 of"), "{md}");
    eprintln!(
        "the notes commit was gated in {notes_s:.1} s (builds of base and candidate included)"
    );

    // c2 makes `work` do 30 % more: measured live, base and candidate.
    history::edit(
        &repo,
        "src/lib.rs",
        "ITERS: u32 = 2000",
        "ITERS: u32 = 2600",
    );
    history::commit(&repo, "c2: more work per call");
    let (code, log) = budget(&budgets, &reports, &["--against", "HEAD~1"]);
    assert!(code == Some(0) || code == Some(1), "{log}");
    let s = summary(&reports);
    let call = timed(&s)
        .into_iter()
        .find(|r| r["metric_id"] == "CALL")
        .unwrap();
    assert!(call["reused"].is_null(), "{call}");
    assert_eq!(
        call["comparison"]["identical_inputs"],
        serde_json::Value::Null,
        "{call}"
    );
    assert!(call["comparison"]["blocks"].as_u64().unwrap() > 0, "{call}");
    assert_ne!(call["comparison"]["verdict"], "unchanged", "{call}");

    // A run killed where no code of the gate runs: once it is measuring,
    // SIGKILL. The green of c2's reports must not survive it.
    let mut child = common::xtask_cmd()
        .args([
            "budget",
            "--fresh",
            "--profile",
            "core-min",
            "--env",
            "desktop",
        ])
        .arg("--budgets")
        .arg(&budgets)
        .arg("--reports")
        .arg(&reports)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains(" seed ") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(300))
        .expect("the run reached its first measured seed");
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    child.wait().unwrap();
    let s = summary(&reports);
    assert_eq!(s["outcome"], "incomplete", "{s}");
    assert!(s["records"].as_array().unwrap().is_empty());
    let md = std::fs::read_to_string(reports.join("summary.md")).unwrap();
    assert!(md.starts_with("## wasm budget: ⚠️ incomplete"), "{md}");
    let out = common::xtask_cmd()
        .args(["merge"])
        .arg(reports.join("summary.json"))
        .arg("--budgets")
        .arg(&budgets)
        .arg("--reports")
        .arg(tmp.join("merged"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("did not complete") && err.contains("has not finished"),
        "{err}"
    );
}
