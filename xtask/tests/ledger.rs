//! The ledger under stress, through the real binary: a gate killed in the
//! middle of ledger writes loses no history; two gates at once both land.

mod common;
use std::process::Command;
use std::time::Duration;

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
    let st = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["__ledger-stress", ledger.to_str().unwrap(), "3", "before"])
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(runs(&ledger).len(), 3);
    // Kill writers at several points of their write loop.
    for (round, ms) in [5u64, 20, 45, 80, 130].into_iter().enumerate() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args([
                "__ledger-stress",
                ledger.to_str().unwrap(),
                "1000",
                &format!("victim{round}"),
            ])
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
    let st = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["__ledger-stress", ledger.to_str().unwrap(), "1", "after"])
        .status()
        .unwrap();
    assert!(st.success());
    assert!(runs(&ledger).contains(&"after-0".to_string()));
}

#[test]
fn two_gates_at_once_both_land() {
    let d = dir("two");
    let ledger = d.join("ledger.json");
    let spawn = |tag: &str| {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["__ledger-stress", ledger.to_str().unwrap(), "25", tag])
            .spawn()
            .unwrap()
    };
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
