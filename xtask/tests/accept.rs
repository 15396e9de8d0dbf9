//! Accepting an intended regression, end to end on a real git history: a
//! commit that grows the small crate's data table (about 12 % of its gzip
//! size, 11 % of its raw size) fails against its parent without a trailer,
//! is `accepted` with `Budget-Accept: SIZE-GZIP core-min +15% ...` (and
//! one for SIZE-RAW), fails with `+5%` for the gzip size naming
//! both figures, and a malformed trailer, an unknown key and a missing
//! reason each stop the run (exit 2) naming the commit and the line. Sizes
//! only (`cargo xtask size`): no browser.

mod common;
use common::history::{self, git};
use common::TempDir;
use std::path::Path;

fn size(budgets: &Path, reports: &Path) -> (Option<i32>, String, serde_json::Value) {
    let out = common::xtask_cmd()
        .args(["size", "--profile", "core-min", "--against", "HEAD~1"])
        .arg("--budgets")
        .arg(budgets)
        .arg("--reports")
        .arg(reports)
        .output()
        .unwrap();
    let summary = std::fs::read_to_string(reports.join("summary.json"))
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(serde_json::Value::Null);
    (
        out.status.code(),
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        summary,
    )
}

fn gzip(s: &serde_json::Value) -> &serde_json::Value {
    s["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric_id"] == "SIZE-GZIP")
        .unwrap()
}

#[test]
fn an_accepted_size_regression_passes_within_its_bound_and_fails_beyond_it() {
    let tmp = TempDir::new("accept-history");
    let repo = tmp.join("subject");
    history::init_subject(&repo, "accept-subject");
    let gate = tmp.join("gate");
    let budgets = history::init_gate(&repo, &gate);
    let reports = gate.join("reports");

    history::edit(
        &repo,
        "src/lib.rs",
        "TABLE_LEN: usize = 64",
        "TABLE_LEN: usize = 102",
    );
    let amend = |msg: &str| {
        git(&repo, &["commit", "-q", "--amend", "-m", msg]);
    };
    history::commit(&repo, "c1: a bigger table");
    let (code, log, s) = size(&budgets, &reports);
    assert_eq!(code, Some(1), "{log}");
    let pct = gzip(&s)["verdict"]["baseline_delta_pct"].as_f64().unwrap();
    assert!(
        pct > 10.0 && pct < 15.0,
        "the table grew gzip by {pct:.1} %, not about 12 %\n{log}"
    );

    // The raw size grew too (by about 11 %): each key needs its trailer.
    amend("c1: a bigger table\n\nBudget-Accept: SIZE-GZIP core-min +15% the lookup table the codec needs\nBudget-Accept: SIZE-RAW core-min +15% the same table\n");
    let (code, log, s) = size(&budgets, &reports);
    assert_eq!(code, Some(0), "{log}");
    let r = gzip(&s);
    assert_eq!(r["status"], "accepted", "{r}");
    assert_eq!(r["verdict"]["acceptance"]["within"], true);
    assert_eq!(r["verdict"]["acceptance"]["acceptance"]["line"], 3);
    let md = std::fs::read_to_string(reports.join("summary.md")).unwrap();
    let top = md.split("<details>").next().unwrap();
    assert!(
        top.contains("SIZE-GZIP core-min size: +")
            && top.contains("within the accepted +15%")
            && top.contains("the lookup table the codec needs"),
        "{top}"
    );
    let ledger: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("ledger.json")).unwrap())
            .unwrap();
    let last = ledger["runs"].as_array().unwrap().last().unwrap();
    let entry = &last["entries"]["SIZE-GZIP|core-min|size"];
    assert_eq!(entry["status"], "accepted", "{entry}");
    assert_eq!(
        entry["accepted"]["acceptance"]["reason"],
        "the lookup table the codec needs"
    );
    assert_eq!(
        entry["accepted"]["acceptance"]["author"],
        "history test <history@test>"
    );

    amend("c1: a bigger table\n\nBudget-Accept: SIZE-GZIP core-min +5% the lookup table the codec needs\nBudget-Accept: SIZE-RAW core-min +15% the same table\n");
    let (code, log, s) = size(&budgets, &reports);
    assert_eq!(code, Some(1), "{log}");
    let why = gzip(&s)["verdict"]["reasons"].to_string();
    assert!(
        why.contains(&format!("{pct:+.1}% against the base"))
            && why.contains(&format!("{:.1} points past +5%", pct - 5.0)),
        "{why}"
    );

    for (msg, want) in [
        (
            "c1\n\nBudget-Accept: SIZE-GZIP core-min +15%\n",
            "line 3: `Budget-Accept: SIZE-GZIP core-min +15%`: it gives no reason",
        ),
        (
            "c1\n\nBudget-Accept: SIZE-GZIP core-min 15 percent more\n",
            "line 3: `Budget-Accept: SIZE-GZIP core-min 15 percent more`: it has no bound",
        ),
        (
            "c1\n\nBudget-Accept: SIZE-GZIPP +15% a typo\n",
            "no metric `SIZE-GZIPP`",
        ),
        (
            "c1\n\nBudget-Accept: SIZE-GZIP full-* +15% another profile\n",
            "it names no key of this run",
        ),
        (
            "c1\n\nBudget-Accept: SIZE-GZIP x1.15 a ratio for a size\n",
            "its bound is `+N%`",
        ),
    ] {
        amend(msg);
        let sha = git(&repo, &["rev-parse", "HEAD"]);
        let (code, log, s) = size(&budgets, &reports);
        assert_eq!(code, Some(2), "{msg}: {log}");
        assert!(
            log.contains(&format!("commit {}", &sha[..12])) && log.contains(want),
            "{msg}: {log}"
        );
        assert_eq!(s["outcome"], "error", "{msg}");
    }
}
