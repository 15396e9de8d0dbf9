//! Escalation on the real gate: with a metric's warn band set just
//! below its measured value, two runs on unchanged code give warn, then
//! fail. Both measure afresh (`--fresh`): a second run would otherwise take
//! the first's figure for the same inputs, which is the first run's
//! observation and never escalates (tests/reuse.rs and the unit tests of
//! `reuse` pin that). The HTML report of those runs is then rendered in headless
//! Chromium and its plots are checked (screenshot kept under
//! target/test-artifacts/).

mod common;
use common::{only_metrics, root, scratch};
use headless_chrome::protocol::cdp::Page;

fn budget(
    budgets: &std::path::Path,
    reports: &std::path::Path,
) -> (i32, serde_json::Value, String) {
    let out = common::xtask_cmd()
        .args([
            "budget",
            "--fresh",
            "--profile",
            "core-min",
            "--env",
            "desktop",
        ])
        .arg("--budgets")
        .arg(budgets)
        .arg("--reports")
        .arg(reports)
        .current_dir(root())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("summary.json")).unwrap())
            .unwrap_or_else(|e| panic!("{e}\n{err}"));
    (out.status.code().unwrap_or(-1), s, text)
}

#[test]
fn warn_then_fail_on_unchanged_code_and_the_html_report_renders() {
    let d = scratch("verdicts", |t| {
        only_metrics(&t, &["M-PERF-01A", "M-PERF-04C"])
    });
    let b = d.join("budgets.toml");
    let reports = d.join("reports");

    // Run 1: learn the real value (passes under the shipped caps). Its own
    // reports directory: the ledger judges past runs against today's caps
    //, so in the gated ledger this run would already count as
    // the first one in the band drawn below.
    let (code, s, text) = budget(&b, &d.join("learn"));
    assert_eq!(code, 0, "{text}");
    let v = common::record(&s, "M-PERF-04C")["value"].as_f64().unwrap();
    assert!(
        common::schema::check_summary(&s).is_empty(),
        "{:?}",
        common::schema::check_summary(&s)
    );
    assert_eq!(
        common::record(&s, "M-PERF-04C")["per_seed"]
            .as_array()
            .unwrap()
            .len(),
        5
    );

    // Warn band just below the measured value (half of it, so noise between
    // runs cannot leave the band), the hard cap far above.
    let text = std::fs::read_to_string(&b).unwrap();
    let text = text
        .replace(
            "warn = { core-min = 40,",
            &format!("warn = {{ core-min = {:.4},", v * 0.5),
        )
        .replace(
            "hard = { core-min = 65,",
            &format!("hard = {{ core-min = {:.4},", v * 50.0),
        );
    std::fs::write(&b, text).unwrap();

    let (code, s, text) = budget(&b, &reports);
    assert_eq!(code, 0, "first run in the warn band warns (exit 0): {text}");
    let r = common::record(&s, "M-PERF-04C");
    assert_eq!(r["status"], "warn", "{r}");
    assert_eq!(r["verdict"]["warn_streak"], 1);

    let (code, s, text) = budget(&b, &reports);
    assert_eq!(code, 1, "second consecutive warn fails (exit 1): {text}");
    let r = common::record(&s, "M-PERF-04C");
    assert_eq!(r["status"], "fail");
    assert_eq!(r["verdict"]["warn_streak"], 2);
    assert!(
        r["verdict"]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("consecutive"),
        "{r}"
    );
    let trend: Vec<&str> = s["trend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(trend, vec!["warn", "fail"]);

    // Render the HTML report in the real browser.
    let exe = wasm_budget_gate::browser::chromium::find_or_install().unwrap();
    let launched = wasm_budget_gate::browser::chromium::launch(&exe, &[]).unwrap();
    let browser = headless_chrome::Browser::connect(launched.endpoint.clone()).unwrap();
    let tab = browser.new_tab().unwrap();
    let url = format!("file://{}", reports.join("report.html").display());
    tab.navigate_to(&url)
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    let count = |sel: &str| -> u64 {
        tab.evaluate(&format!("document.querySelectorAll('{sel}').length"), false)
            .unwrap()
            .value
            .unwrap()
            .as_u64()
            .unwrap()
    };
    assert_eq!(count("#run-status"), 1);
    assert!(count("#budgets svg.bar") >= 2, "budget bars");
    assert!(count("#cdfs svg path") >= 1, "latency CDF");
    assert!(
        count("#trends svg circle") >= 2,
        "trend points for the two gated runs"
    );
    assert!(count("#treemaps svg.treemap rect") > 10, "size treemap");
    // The treemap is nested (crate groups hold items), searchable and zoomable.
    assert!(
        count("#treemaps svg.treemap rect.tm-group") >= 3,
        "crate and module groups"
    );
    let eval = |js: &str| tab.evaluate(js, false).unwrap().value.unwrap();
    let found = eval(
        "(() => { const b = document.querySelector('#treemaps .tm-search'); b.value = 'runtime'; b.dispatchEvent(new Event('input'));          return b.closest('.tm').querySelector('.tm-found').textContent; })()",
    );
    assert!(
        found.as_str().unwrap().contains(" items, "),
        "search sums its hits: {found}"
    );
    assert!(
        count("#treemaps rect.tm-hit") >= 1,
        "search highlights the hits"
    );
    let crumbs = eval(
        "(() => { const tm = document.querySelector('#treemaps .tm'); tm.querySelector('rect.tm-group').dispatchEvent(new MouseEvent('click'));          return tm.querySelector('.tm-crumbs').textContent; })()",
    );
    assert!(
        crumbs.as_str().unwrap().starts_with("all (")
            && crumbs.as_str().unwrap().contains(" \u{203a} "),
        "zoomed into a group: {crumbs}"
    );
    let status = tab
        .evaluate("document.getElementById('run-status').textContent", false)
        .unwrap()
        .value
        .unwrap();
    assert_eq!(status, "red");
    let png = tab
        .capture_screenshot(Page::CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    assert!(png.len() > 10_000, "screenshot of a rendered page");
    let out = root().join("target/test-artifacts");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("report.png"), png).unwrap();
}
