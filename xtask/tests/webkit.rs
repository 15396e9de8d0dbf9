//! WebKit (JavaScriptCore), end to end in a real WebKitGTK: the gate
//! provisions the driver and a virtual display of its own, drives the
//! browser over classic WebDriver, and leaves nothing running; a driver
//! the gate did not start (`--webdriver-url`) is used and left alone; and
//! what cannot run says why, with exit 2.

mod common;

use wasm_budget_gate::browser::{process, webkit};

/// One WebKit at a time: the process counts below see them all.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Running processes named exactly `name`.
fn count(name: &str) -> usize {
    let out = std::process::Command::new("pgrep")
        .args(["-x", name])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// (Xvfb, WebKitWebDriver, MiniBrowser) processes running now.
fn webkit_processes() -> (usize, usize, usize) {
    (
        count("Xvfb"),
        count("WebKitWebDriver"),
        count("MiniBrowser"),
    )
}

/// `budget --profile core-min --env E [extra]` on `b`, reports in
/// `<dir of b>/r`, with `vars` set: (exit code, stderr).
fn budget(
    b: &std::path::Path,
    env: &str,
    extra: &[&str],
    vars: &[(&str, &str)],
) -> (Option<i32>, String) {
    let mut cmd = common::xtask_cmd();
    cmd.args(["budget", "--profile", "core-min", "--env", env])
        .args(extra)
        .arg("--budgets")
        .arg(b)
        .arg("--reports")
        .arg(b.parent().unwrap().join("r"));
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The WebKit metrics of budgets.toml, for core-min only.
fn webkit_scratch(name: &str) -> common::TempDir {
    common::scratch(name, |t| common::engine_keys_core_min(&t, "webkit"))
}

#[test]
fn webkit_measures_in_javascriptcore_and_leaves_nothing_running() {
    let _one = serial();
    let before = webkit_processes();
    let d = webkit_scratch("webkit");
    let b = d.join("budgets.toml");
    let (code, err) = budget(&b, "webkit-desktop", &[], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("retrying"), "no scenario failed: {err}");
    assert_eq!(
        webkit_processes(),
        before,
        "the display, the driver and the browser the gate started are gone"
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("r/summary.json")).unwrap()).unwrap();
    assert!(
        common::schema::check_summary(&s).is_empty(),
        "{:?}",
        common::schema::check_summary(&s)
    );
    common::check_engine_run(
        &s,
        "webkit",
        ("WebDriver", "MiniBrowser/", "JavaScriptCore"),
    );
    let md = std::fs::read_to_string(d.join("r/summary.md")).unwrap();
    assert!(md.contains("webkit-desktop: MiniBrowser/"), "{md}");
}

/// A WebDriver endpoint the test started (as a macOS runner starts
/// safaridriver): the gate measures through it and stops none of it; a
/// driver variable naming nothing is an error, not a silent fallback.
#[test]
fn a_webdriver_url_is_used_and_left_alone_and_errors_say_why() {
    let _one = serial();
    let d = webkit_scratch("webkitremote");
    let b = d.join("budgets.toml");
    let driver_exe = process::find_or_install(&webkit::PROVISION).unwrap();
    let xvfb_exe = process::find_or_install(&webkit::XVFB).unwrap();
    // The test's own display and driver, killed when these guards drop.
    let mut x = std::process::Command::new(&xvfb_exe);
    x.args(["-displayfd", "1", "-nolisten", "tcp"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    process::dies_with_gate(&mut x);
    let mut xvfb = process::Owned(x.spawn().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(xvfb.0.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let port = process::free_port().unwrap();
    let mut w = std::process::Command::new(&driver_exe);
    w.arg(format!("--port={port}"))
        .env("DISPLAY", format!(":{}", line.trim()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    process::dies_with_gate(&mut w);
    let mut driver = process::Owned(w.spawn().unwrap());
    let url = format!("http://127.0.0.1:{port}");
    std::thread::sleep(std::time::Duration::from_millis(500));

    let (code, err) = budget(
        &b,
        "webkit-desktop",
        &["--quick", "--webdriver-url", &url],
        &[],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        driver.0.try_wait().unwrap().is_none() && xvfb.0.try_wait().unwrap().is_none(),
        "the gate stops nothing it did not start"
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("r/summary.json")).unwrap()).unwrap();
    let r = common::record(&s, "M-PERF-02A-webkit");
    assert!(r["value"].as_f64().unwrap() > 0.0, "{r}");
    assert!(
        r["commands"][0].as_str().unwrap().contains("via WebDriver"),
        "{r}"
    );

    // A driver variable that names nothing says so.
    let (code, err) = budget(
        &b,
        "webkit-desktop",
        &["--quick"],
        &[("WEBKIT_DRIVER", "/nonexistent/WebKitWebDriver")],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("$WEBKIT_DRIVER is set to /nonexistent/WebKitWebDriver"),
        "{err}"
    );
}
