//! Desktop Firefox, end to end in the real browser: the gate
//! provisions Firefox, drives it over WebDriver BiDi, runs the subject's own
//! scenarios in the shared harness page, and reports the browser and its
//! clock per environment. A hung Firefox scenario is bounded, retried once
//! and ends in exit 2, and no Firefox outlives the gate.

mod common;

/// One Firefox at a time: the process check below counts them all.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn firefox_processes() -> usize {
    // Every Firefox the gate starts has a profile directory named so.
    let out = std::process::Command::new("pgrep")
        .args(["-f", "budget-firefox-"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// `budget --profile core-min --env firefox-desktop [extra]` on budgets
/// file `b`, reports in `<dir of b>/r`: (exit code, stderr).
fn budget_in_firefox(b: &std::path::Path, extra: &[&str]) -> (Option<i32>, String) {
    let out = common::xtask_cmd()
        .args([
            "budget",
            "--profile",
            "core-min",
            "--env",
            "firefox-desktop",
        ])
        .args(extra)
        .arg("--budgets")
        .arg(b)
        .arg("--reports")
        .arg(b.parent().unwrap().join("r"))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn firefox_measures_cold_init_and_cancellation_and_names_itself() {
    let _one = serial();
    // The two metrics, for core-min only: one full-protocol shard covers them.
    let d = common::scratch("firefox", |t| common::engine_keys_core_min(&t, "firefox"));
    let b = d.join("budgets.toml");
    let (code, err) = budget_in_firefox(&b, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("retrying"), "no scenario failed: {err}");
    let text = std::fs::read_to_string(d.join("r/summary.json")).unwrap();
    let s: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(
        common::schema::check_summary(&s).is_empty(),
        "{:?}",
        common::schema::check_summary(&s)
    );

    let fx = &common::check_engine_run(
        &s,
        "firefox",
        ("WebDriver BiDi", "firefox/", "SpiderMonkey"),
    );
    // No Chromium was needed for a Firefox-only run.
    assert!(!s["fingerprint"]["environments"]
        .as_object()
        .unwrap()
        .contains_key("desktop"));
    let md = std::fs::read_to_string(d.join("r/summary.md")).unwrap();
    assert!(
        md.contains("firefox-desktop: firefox/") && md.contains("WebDriver BiDi"),
        "{md}"
    );
    assert_eq!(firefox_processes(), 0, "no Firefox outlives the gate");

    // A Firefox shard merges like any other: same figures, same browser.
    let out = common::xtask_cmd()
        .arg("merge")
        .arg(d.join("r/summary.json"))
        .arg("--budgets")
        .arg(&b)
        .arg("--reports")
        .arg(d.join("merged"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("merged/summary.json")).unwrap())
            .unwrap();
    assert_eq!(
        m["fingerprint"]["environments"]["firefox-desktop"]["browser"],
        *fx
    );
    for r in s["records"].as_array().unwrap() {
        let mr = m["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["metric_id"] == r["metric_id"] && x["profile"] == r["profile"])
            .unwrap();
        assert_eq!(mr["value"], r["value"], "{}", r["metric_id"]);
        assert_eq!(mr["status"], r["status"]);
    }
}

#[test]
fn a_hung_firefox_scenario_is_bounded_retried_and_exits_2() {
    let _one = serial();
    let (_dir, b) = common::scratch_with_scenario_in(
        "ffhang",
        "hang",
        "HANG",
        "export default async function (h) { await new Promise(() => {}); }\n",
        "firefox-desktop",
    );
    let d = b.parent().unwrap().to_path_buf();
    let t = std::time::Instant::now();
    let (code, err) = budget_in_firefox(&b, &["--quick"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("retrying once")
            && err.contains("scenario `hang`")
            && err.contains("failed twice"),
        "{err}"
    );
    assert!(t.elapsed().as_secs() < 120, "bounded time");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("r/summary.json")).unwrap()).unwrap();
    assert_eq!(s["outcome"], "error");
    assert_eq!(firefox_processes(), 0, "no Firefox outlives the gate");
}
