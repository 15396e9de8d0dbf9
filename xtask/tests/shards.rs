//! Shards merge to the unsharded verdicts and sizes, with
//! histogram-exact latency figures; and the gate measures through a
//! Chromium started separately (`--browser-ws`). A merge that
//! lacks a shard, or mixes protocols or commits, never passes.

mod common;
use common::{only_metrics, root, scratch};
use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    let out = common::xtask_cmd().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn summary(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

fn records(s: &serde_json::Value) -> Vec<&serde_json::Value> {
    s["records"].as_array().unwrap().iter().collect()
}

fn find<'a>(s: &'a serde_json::Value, id: &str, profile: &str) -> &'a serde_json::Value {
    records(s)
        .into_iter()
        .find(|r| r["metric_id"] == id && r["profile"] == profile)
        .unwrap_or_else(|| panic!("{id} {profile}"))
}

/// (value, count) of every recorded bucket: the histogram's content,
/// independent of how a serializer laid it out.
fn counts(blob: &serde_json::Value) -> Vec<(u64, u64)> {
    let b: wasm_budget_gate::summary::HistogramBlob = serde_json::from_value(blob.clone()).unwrap();
    let h = wasm_budget_gate::stats::decode(&b).unwrap();
    h.iter_recorded()
        .map(|v| (v.value_iterated_to(), v.count_at_value()))
        .collect()
}

const PROFILES: [&str; 3] = ["core-min", "core-trace", "full-dev"];

#[test]
fn shards_merge_to_the_unsharded_verdicts_with_exact_histograms() {
    // Sizes and one batched timing (03B): four full-protocol desktop runs of
    // it are the cost of this test, so one timing metric, not two.
    let d = scratch("shards", |t| {
        only_metrics(&t, &["M-PERF-01A", "M-PERF-01B", "M-PERF-03B"])
    });
    let b = d.join("budgets.toml");
    let bs = b.to_str().unwrap();
    let dir = |n: &str| d.join(n).to_str().unwrap().to_string();
    let (code, log) = run(&[
        "budget",
        "--env",
        "desktop",
        "--budgets",
        bs,
        "--reports",
        &dir("all"),
    ]);
    assert_eq!(code, 0, "{log}");
    for p in PROFILES {
        let (code, log) = run(&[
            "budget",
            "--profile",
            p,
            "--env",
            "desktop",
            "--budgets",
            bs,
            "--reports",
            &dir(p),
        ]);
        assert_eq!(code, 0, "{log}");
    }
    let shards: Vec<String> = PROFILES
        .iter()
        .map(|p| format!("{}/summary.json", dir(p)))
        .collect();
    let merged_dir = dir("merged");
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(String::as_str));
    args.extend(["--budgets", bs, "--reports", &merged_dir]);
    let (code, log) = run(&args);
    assert_eq!(code, 0, "{log}");

    let all = summary(&d.join("all"));
    let merged = summary(&d.join("merged"));
    assert!(
        common::schema::check_summary(&merged).is_empty(),
        "{:?}",
        common::schema::check_summary(&merged)
    );
    assert_eq!(records(&all).len(), records(&merged).len());
    for r in records(&all) {
        let (id, p) = (
            r["metric_id"].as_str().unwrap(),
            r["profile"].as_str().unwrap(),
        );
        let m = find(&merged, id, p);
        assert_eq!(m["status"], r["status"], "{id} {p}: verdict");
        if r["environment"] == "size" {
            assert_eq!(m["value"], r["value"], "{id} {p}: size figure");
        } else {
            // Histogram-exact: the merged record carries exactly the shard's
            // per-seed histograms, and its value is recomputed from them.
            let shard = summary(&d.join(p));
            let s = find(&shard, id, p);
            let ms = m["per_seed"].as_array().unwrap();
            let ss = s["per_seed"].as_array().unwrap();
            assert_eq!(ms.len(), ss.len());
            for (x, y) in ms.iter().zip(ss) {
                assert_eq!(x["seed"], y["seed"]);
                assert_eq!(
                    counts(&x["histogram"]),
                    counts(&y["histogram"]),
                    "{id} {p} seed {}: histogram",
                    x["seed"]
                );
            }
            assert_eq!(m["histogram"]["samples"], s["histogram"]["samples"]);
            assert_eq!(m["value"], s["value"], "{id} {p}: median of per-seed p95s");
            // It keeps what measuring it cost in its shard.
            assert_eq!(m["cost"], s["cost"], "{id} {p}: cost");
            assert!(
                s["cost"]["timed_s"].as_f64().unwrap() > 0.0,
                "{id} {p}: {}",
                s["cost"]
            );
        }
    }
    // The merged cost per environment is the shards' summed.
    let timed = |v: &serde_json::Value| v["cost"]["desktop"]["timed_s"].as_f64().unwrap();
    let sum: f64 = PROFILES.iter().map(|p| timed(&summary(&d.join(p)))).sum();
    assert!(
        (timed(&merged) - sum).abs() < 1e-9 * sum,
        "merged {} vs shards {sum}",
        timed(&merged)
    );
    // A quick shard is refused.
    let (code, _) = run(&[
        "budget",
        "--quick",
        "--profile",
        "core-min",
        "--env",
        "desktop",
        "--budgets",
        bs,
        "--reports",
        &dir("quick"),
    ]);
    assert!(code == 0 || code == 1);
    let q = format!("{}/summary.json", dir("quick"));
    let (code, log) = run(&["merge", &q, "--budgets", bs, "--reports", &dir("merged2")]);
    assert_eq!(code, 2, "{log}");
    assert!(log.contains("--quick"), "{log}");
}

/// A Chromium started apart from the gate (no V8 flags), as a browser farm
/// would hand one out: its DevTools endpoint is `endpoint`; it is killed,
/// and its profile removed, on drop.
fn own_chrome() -> wasm_budget_gate::browser::process::Launched {
    use wasm_budget_gate::browser::{chromium, process};
    let exe = chromium::find_or_install().unwrap();
    let profile = process::fresh_profile("remote-test").unwrap();
    let mut cmd = Command::new(&exe);
    cmd.args(chromium::FLAGS)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank");
    process::launch(
        cmd,
        profile,
        "Chromium",
        "DevTools listening on ",
        "its DevTools endpoint",
    )
    .unwrap()
}

#[test]
fn measures_through_a_separately_started_chromium() {
    let chrome = own_chrome();
    let ws = chrome.endpoint.clone();
    let d = scratch("remote", |t| {
        only_metrics(&t, &["M-PERF-01A", "M-PERF-04A"])
    });
    let (code, log) = run(&[
        "budget",
        "--quick",
        "--profile",
        "core-min",
        "--env",
        "desktop",
        "--browser-ws",
        &ws,
        "--budgets",
        d.join("budgets.toml").to_str().unwrap(),
        "--reports",
        d.join("r").to_str().unwrap(),
    ]);
    drop(chrome);
    assert_eq!(code, 0, "{log}");
    let s = summary(&d.join("r"));
    assert!(
        s["fingerprint"]["browser_origin"]
            .as_str()
            .unwrap()
            .starts_with("remote ws://"),
        "{}",
        s["fingerprint"]
    );
    let r = find(&s, "M-PERF-04A", "core-min");
    assert!(r["value"].as_f64().unwrap() > 0.0);
    assert_eq!(r["per_seed"].as_array().unwrap().len(), 5);
}

/// The DevTools page targets of a browser, from its HTTP endpoint (None
/// when the endpoint did not answer this time).
fn pages(ws: &str) -> Option<Vec<String>> {
    let body = wasm_budget_gate::browser::chromium::devtools_http(ws, "/json/list").ok()?;
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    Some(
        v.as_array()?
            .iter()
            .filter(|t| t["type"] == "page")
            .map(|t| t["url"].as_str().unwrap_or("").to_string())
            .collect(),
    )
}

/// A hung scenario's tab is closed before the retry (and when the
/// gate gives up), so a remote browser is not left burning a core on it.
#[test]
fn a_hung_tab_is_closed_on_a_remote_browser() {
    let chrome = own_chrome();
    let ws = chrome.endpoint.clone();
    let (_dir, b) = common::scratch_with_scenario(
        "hungtab",
        "spin",
        "SPIN",
        "export default async function (h) { for (;;) {} }\n",
    );
    let d = b.parent().unwrap().to_path_buf();
    // Watch the browser's pages while the gate runs: during the retry, the
    // hung tab must already be gone (one harness tab at a time).
    let mut gate = common::xtask_cmd()
        .args([
            "budget",
            "--quick",
            "--profile",
            "core-min",
            "--env",
            "desktop",
            "--browser-ws",
            &ws,
        ])
        .arg("--budgets")
        .arg(&b)
        .arg("--reports")
        .arg(d.join("r"))
        .current_dir(root())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (mut most, mut polled) = (0, 0);
    let status = loop {
        if let Some(st) = gate.try_wait().unwrap() {
            break st;
        }
        if let Some(p) = pages(&ws) {
            polled += 1;
            most = most.max(p.iter().filter(|u| u.contains("index.html")).count());
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let mut log = String::new();
    use std::io::Read;
    gate.stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    let left = pages(&ws).unwrap_or_default();
    drop(chrome);
    assert_eq!(status.code(), Some(2), "{log}");
    assert!(log.contains("retrying once"), "{log}");
    assert!(polled > 10, "the DevTools endpoint answered {polled} times");
    assert_eq!(most, 1, "a hung harness tab stayed open beside the retry's");
    assert!(
        left.iter().all(|u| !u.contains("index.html")),
        "harness tabs left open: {left:?}\n{log}"
    );
}

/// Merging only a size shard used to exit 0 with a summary that
/// looked complete. Every metric x profile x environment of budgets.toml is
/// expected: each one no shard carried fails and names the shard to rerun.
#[test]
fn a_merge_missing_shards_fails_naming_them() {
    let d = scratch("mergemissing", |t| {
        only_metrics(&t, &["M-PERF-01A", "M-PERF-02A", "M-PERF-02B"])
    });
    let b = d.join("budgets.toml");
    let bs = b.to_str().unwrap();
    let dir = |n: &str| d.join(n).to_str().unwrap().to_string();
    // One size shard, and one timing shard for core-min x desktop only.
    let (code, log) = run(&[
        "size",
        "--profile",
        "core-min",
        "--budgets",
        bs,
        "--reports",
        &dir("size"),
    ]);
    assert_eq!(code, 0, "{log}");
    let (code, log) = run(&[
        "budget",
        "--fixed-samples",
        "-",
        "--profile",
        "core-min",
        "--env",
        "desktop",
        "--budgets",
        bs,
        "--reports",
        &dir("desk"),
    ]);
    assert_eq!(code, 0, "{log}");
    let (size, desk) = (
        format!("{}/summary.json", dir("size")),
        format!("{}/summary.json", dir("desk")),
    );
    let (code, log) = run(&[
        "merge",
        &size,
        &desk,
        "--budgets",
        bs,
        "--reports",
        &dir("merged"),
    ]);
    assert_eq!(code, 1, "an incomplete merge fails: {log}");
    assert!(log.contains("have no shard"), "{log}");
    let m = summary(&d.join("merged"));
    assert!(
        common::schema::check_summary(&m).is_empty(),
        "{:?}",
        common::schema::check_summary(&m)
    );
    // 01A x 3 profiles + 02A desktop x 3 + 02B mobile x 3 + the dependency
    // record x 3 (resolved by the size shard, for core-min only).
    assert_eq!(records(&m).len(), 12);
    let reasons = |r: &serde_json::Value| {
        r["verdict"]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let present = [
        ("M-PERF-01A", "core-min"),
        ("M-PERF-02A", "core-min"),
        ("M-DEPS-01", "core-min"),
    ];
    for r in records(&m) {
        let (id, p) = (
            r["metric_id"].as_str().unwrap(),
            r["profile"].as_str().unwrap(),
        );
        if present.contains(&(id, p)) {
            assert_eq!(r["status"], "pass", "{id} {p}: {}", reasons(r));
            continue;
        }
        assert_eq!(r["status"], "fail", "{id} {p} has no shard");
        assert!(r["value"].is_null());
        let want = match id {
            "M-PERF-01A" | "M-DEPS-01" => {
                format!("the shard `--profile {p}` (any environment) is missing")
            }
            "M-PERF-02A" => format!("the shard `--profile {p} --env desktop` is missing"),
            _ => format!("the shard `--profile {p} --env mobile` is missing"),
        };
        assert!(reasons(r).contains(&want), "{id} {p}: {}", reasons(r));
    }
    // The present records keep the fingerprint of the shard that measured them.
    let desk_s = summary(&d.join("desk"));
    assert_eq!(
        find(&m, "M-PERF-02A", "core-min")["fingerprint"],
        find(&desk_s, "M-PERF-02A", "core-min")["fingerprint"]
    );
    let md = std::fs::read_to_string(d.join("merged/summary.md")).unwrap();
    assert!(md.contains("is missing"), "{md}");
}

/// Shards measured with other seeds or iteration counts than the
/// budgets file the merge gates under are refused (exit 2, error reports).
#[test]
fn a_merge_of_shards_with_another_protocol_is_refused() {
    let d = scratch("mergeproto", |t| {
        only_metrics(&t, &["M-PERF-01A", "M-PERF-02A"])
    });
    let b = d.join("budgets.toml");
    let other = d.join("other.toml");
    std::fs::write(
        &other,
        std::fs::read_to_string(&b)
            .unwrap()
            .replace("seeds = [11, 29, 42, 73, 101]", "seeds = [11, 29, 42]"),
    )
    .unwrap();
    let dir = |n: &str| d.join(n).to_str().unwrap().to_string();
    let (code, log) = run(&[
        "budget",
        "--fixed-samples",
        "-",
        "--profile",
        "core-min",
        "--env",
        "desktop",
        "--budgets",
        other.to_str().unwrap(),
        "--reports",
        &dir("other"),
    ]);
    assert_eq!(code, 0, "{log}");
    let shard = format!("{}/summary.json", dir("other"));
    let (code, log) = run(&[
        "merge",
        &shard,
        "--budgets",
        b.to_str().unwrap(),
        "--reports",
        &dir("merged"),
    ]);
    assert_eq!(code, 2, "{log}");
    assert!(
        log.contains("another protocol") && log.contains("seeds [11, 29, 42]"),
        "{log}"
    );
    let m = summary(&d.join("merged"));
    assert_eq!(m["outcome"], "error");
    assert!(std::fs::read_to_string(d.join("merged/summary.md"))
        .unwrap()
        .contains("could not do its job"));
}
