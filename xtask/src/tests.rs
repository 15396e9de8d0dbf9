//! Configuration errors, each located by file, key and line.

use crate::config;
use std::path::Path;

#[path = "../tests/common/mod.rs"]
mod common;
use common::{root, scratch};

fn load_err(dir: &Path) -> config::ConfigError {
    config::load(&dir.join("budgets.toml")).expect_err("config should be rejected")
}

#[test]
fn the_shipped_config_loads() {
    let c = config::load(&root().join("budgets.toml")).unwrap();
    assert_eq!(c.profiles.len(), 3);
    assert_eq!(c.metrics.len(), 10);
    assert_eq!(c.metrics.iter().find(|m| m.id == "M-PERF-04D").unwrap().caps.len(), 2);
}

#[test]
fn malformed_toml_names_file_and_line() {
    let d = scratch("malformed", |t| t.replace("batch = 64", "batch = = 64"));
    let e = load_err(&d);
    let line = std::fs::read_to_string(d.join("budgets.toml")).unwrap().lines().position(|l| l.contains("batch = =")).unwrap() + 1;
    assert_eq!(e.line, Some(line), "{e}");
    assert!(e.to_string().contains("budgets.toml:"), "{e}");
}

#[test]
fn unknown_key_names_key_and_line() {
    let d = scratch("unknown", |t| t.replace("batch = 64", "batch = 64\nbatchh = 3"));
    let e = load_err(&d);
    assert!(e.message.contains("unknown field `batchh`"), "{e}");
    assert_eq!(e.key, "protocol.batchh", "{e}");
    assert!(e.line.is_some());
}

#[test]
fn missing_cap_for_a_profile() {
    let d = scratch("nocap", |t| t.replace("hard = { core-min = 650, core-trace = 900, full-dev = 1300 }", "hard = { core-min = 650, core-trace = 900 }"));
    let e = load_err(&d);
    assert!(e.message.contains("no hard cap for profile `full-dev`"), "{e}");
    assert!(e.key.contains("M-PERF-01A") && e.key.ends_with("hard.full-dev"), "{e}");
    let line = std::fs::read_to_string(d.join("budgets.toml")).unwrap().lines().position(|l| l.contains("core-trace = 900 }")).unwrap() + 1;
    assert_eq!(e.line, Some(line), "{e}");
}

#[test]
fn negative_and_non_numeric_caps() {
    let d = scratch("neg", |t| t.replace("core-min = 650,", "core-min = -650,"));
    let e = load_err(&d);
    assert!(e.message.contains("non-negative"), "{e}");
    assert!(e.key.ends_with("hard.core-min"), "{e}");
    let d = scratch("nan", |t| t.replace("core-min = 650,", "core-min = \"lots\","));
    let e = load_err(&d);
    assert!(e.message.contains("must be a number, found string"), "{e}");
    assert!(e.line.is_some());
}

#[test]
fn profile_with_missing_feature() {
    let d = scratch("feature", |t| t);
    let p = d.join("profiles/core-trace.toml");
    std::fs::write(&p, std::fs::read_to_string(&p).unwrap().replace("[\"trace\"]", "[\"trace\", \"turbo\"]")).unwrap();
    let e = load_err(&d);
    assert!(e.file.ends_with("core-trace.toml"), "{e}");
    assert!(e.message.contains("no feature `turbo`") && e.hint.contains("trace"), "{e}");
    assert_eq!(e.key, "cargo.features");
    assert!(e.line.is_some());
}

