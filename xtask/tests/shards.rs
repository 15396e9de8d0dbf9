//! Issue 7: shards merge to the unsharded verdicts and sizes, with
//! histogram-exact latency figures; and the gate measures through a
//! Chromium started separately (`--browser-ws`).

mod common;
use common::{only_metrics, root, scratch};
use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).current_dir(root()).output().unwrap();
    (out.status.code().unwrap_or(-1), format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn summary(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

fn records(s: &serde_json::Value) -> Vec<&serde_json::Value> {
    s["records"].as_array().unwrap().iter().collect()
}

fn find<'a>(s: &'a serde_json::Value, id: &str, profile: &str) -> &'a serde_json::Value {
    records(s).into_iter().find(|r| r["metric_id"] == id && r["profile"] == profile).unwrap_or_else(|| panic!("{id} {profile}"))
}

/// (value, count) of every recorded bucket: the histogram's content,
/// independent of how a serializer laid it out.
fn counts(blob: &serde_json::Value) -> Vec<(u64, u64)> {
    let b: xtask::summary::HistogramBlob = serde_json::from_value(blob.clone()).unwrap();
    let h = xtask::stats::decode(&b).unwrap();
    h.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect()
}

#[test]
fn shards_merge_to_the_unsharded_verdicts_with_exact_histograms() {
    let d = scratch("shards", |t| only_metrics(&t, &["M-PERF-01A", "M-PERF-01B", "M-PERF-03B", "M-PERF-04A"]));
    let b = d.join("budgets.toml");
    let bs = b.to_str().unwrap();
    let dir = |n: &str| d.join(n).to_str().unwrap().to_string();
    let (code, log) = run(&["budget", "--profile", "core-min", "--profile", "core-trace", "--env", "desktop", "--budgets", bs, "--reports", &dir("all")]);
    assert_eq!(code, 0, "{log}");
    for p in ["core-min", "core-trace"] {
        let (code, log) = run(&["budget", "--profile", p, "--env", "desktop", "--budgets", bs, "--reports", &dir(p)]);
        assert_eq!(code, 0, "{log}");
    }
    let a = format!("{}/summary.json", dir("core-min"));
    let c = format!("{}/summary.json", dir("core-trace"));
    let (code, log) = run(&["merge", &a, &c, "--budgets", bs, "--reports", &dir("merged")]);
    assert_eq!(code, 0, "{log}");

    let all = summary(&d.join("all"));
    let merged = summary(&d.join("merged"));
    assert!(common::schema::check_summary(&merged).is_empty(), "{:?}", common::schema::check_summary(&merged));
    assert_eq!(records(&all).len(), records(&merged).len());
    for r in records(&all) {
        let (id, p) = (r["metric_id"].as_str().unwrap(), r["profile"].as_str().unwrap());
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
                assert_eq!(counts(&x["histogram"]), counts(&y["histogram"]), "{id} {p} seed {}: histogram", x["seed"]);
            }
            assert_eq!(m["histogram"]["samples"], s["histogram"]["samples"]);
            assert_eq!(m["value"], s["value"], "{id} {p}: median of per-seed p95s");
        }
    }
    // A quick shard is refused.
    let (code, _) = run(&["budget", "--quick", "--profile", "core-min", "--env", "desktop", "--budgets", bs, "--reports", &dir("quick")]);
    assert!(code == 0 || code == 1);
    let q = format!("{}/summary.json", dir("quick"));
    let (code, log) = run(&["merge", &q, "--budgets", bs, "--reports", &dir("merged2")]);
    assert_eq!(code, 2, "{log}");
    assert!(log.contains("--quick"), "{log}");
}

#[test]
fn measures_through_a_separately_started_chromium() {
    let exe = xtask::browser::find_or_install().unwrap();
    let profile = std::env::temp_dir().join(format!("xtask-remote-{}", std::process::id()));
    let mut chrome = Command::new(&exe)
        .args(xtask::browser::FLAGS)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Its DevTools endpoint, as a farm would hand it out.
    use std::io::BufRead;
    let stderr = std::io::BufReader::new(chrome.stderr.take().unwrap());
    let ws = stderr
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.split("DevTools listening on ").nth(1).map(|s| s.trim().to_string()))
        .expect("DevTools URL");
    let d = scratch("remote", |t| only_metrics(&t, &["M-PERF-01A", "M-PERF-04A"]));
    let (code, log) = run(&[
        "budget", "--quick", "--profile", "core-min", "--env", "desktop", "--browser-ws", &ws,
        "--budgets", d.join("budgets.toml").to_str().unwrap(), "--reports", d.join("r").to_str().unwrap(),
    ]);
    let _ = chrome.kill();
    let _ = chrome.wait();
    let _ = std::fs::remove_dir_all(&profile);
    assert_eq!(code, 0, "{log}");
    let s = summary(&d.join("r"));
    assert!(s["fingerprint"]["browser_origin"].as_str().unwrap().starts_with("remote ws://"), "{}", s["fingerprint"]);
    let r = find(&s, "M-PERF-04A", "core-min");
    assert!(r["value"].as_f64().unwrap() > 0.0);
    assert_eq!(r["per_seed"].as_array().unwrap().len(), 5);
}
