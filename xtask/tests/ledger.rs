//! The ledger under stress, in real processes: a writer killed in the
//! middle of ledger writes loses no history; two writers at once both land.
//! Each writer is this test binary run again as `stress_writer`, which
//! drives the gate's own `ledger::update` (the path `budget` writes
//! through), so no test hook sits in the gate's command line.

mod common;
use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;
use wasm_budget_gate::gate::Status;
use wasm_budget_gate::ledger::{update, Entry, Run};

/// The writer: when `LEDGER_STRESS` is `PATH|N|TAG`, N read-modify-write
/// cycles of `update`, each appending one run keyed by TAG, with a large
/// payload so a write takes long enough to be interrupted. A plain test
/// run does nothing here.
#[test]
fn stress_writer() {
    let Ok(spec) = std::env::var("LEDGER_STRESS") else {
        return;
    };
    let [path, n, tag] = spec.splitn(3, '|').collect::<Vec<_>>()[..] else {
        panic!("LEDGER_STRESS is PATH|N|TAG, not {spec}")
    };
    let n: u32 = n.parse().unwrap();
    for i in 0..n {
        update(std::path::Path::new(path), 1000, |_| {
            let mut entries = BTreeMap::new();
            for k in 0..400 {
                entries.insert(
                    format!("{tag}|M-{k:03}|p|env"),
                    Entry {
                        value: Some(i as f64),
                        lo: None,
                        hi: None,
                        status: Status::Pass,
                        in_warn_band: false,
                        identity: None,
                        reused_from: None,
                        accepted: None,
                    },
                );
            }
            let run = Run {
                id: format!("{tag}-{i}"),
                started_unix_s: 0,
                commit: tag.to_string(),
                config: String::new(),
                status: Status::Pass,
                fingerprint: Default::default(),
                entries,
            };
            Ok((run, ()))
        })
        .unwrap();
    }
}

/// A writer process: this binary, running `stress_writer` alone.
fn writer(ledger: &std::path::Path, n: u32, tag: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["stress_writer", "--exact", "--quiet", "--test-threads=1"])
        .env("LEDGER_STRESS", format!("{}|{n}|{tag}", ledger.display()));
    c
}

fn runs(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("ledger exists");
    let v: serde_json::Value =
        serde_json::from_str(&text).expect("ledger is valid JSON (never torn)");
    assert_eq!(v["schema_version"], 3);
    v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

fn dir(name: &str) -> common::TempDir {
    common::TempDir::new(&format!("ledger-{name}"))
}

#[test]
fn killed_mid_write_keeps_every_committed_run() {
    let d = dir("kill");
    let ledger = d.join("ledger.json");
    // History to protect.
    let st = writer(&ledger, 3, "before").status().unwrap();
    assert!(st.success());
    assert_eq!(runs(&ledger).len(), 3);
    // Kill writers at several points of their write loop.
    for (round, ms) in [5u64, 20, 45, 80, 130].into_iter().enumerate() {
        let mut child = writer(&ledger, 1000, &format!("victim{round}"))
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        child.kill().unwrap(); // SIGKILL: no cleanup runs
        child.wait().unwrap();
        let ids = runs(&ledger);
        for i in 0..3 {
            assert!(
                ids.contains(&format!("before-{i}")),
                "round {round}: lost before-{i}"
            );
        }
    }
    // A killed writer held its lock only while it lived: the next run proceeds.
    let st = writer(&ledger, 1, "after").status().unwrap();
    assert!(st.success());
    assert!(runs(&ledger).contains(&"after-0".to_string()));
}

#[test]
fn two_gates_at_once_both_land() {
    let d = dir("two");
    let ledger = d.join("ledger.json");
    let spawn = |tag: &str| writer(&ledger, 25, tag).spawn().unwrap();
    let (mut a, mut b) = (spawn("a"), spawn("b"));
    assert!(a.wait().unwrap().success());
    assert!(b.wait().unwrap().success());
    let ids = runs(&ledger);
    for tag in ["a", "b"] {
        for i in 0..25 {
            assert!(
                ids.contains(&format!("{tag}-{i}")),
                "lost {tag}-{i}: {} runs",
                ids.len()
            );
        }
    }
    assert_eq!(ids.len(), 50);
}
