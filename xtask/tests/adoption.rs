//! A team adopts the gate both ways the README offers, each in a
//! workspace of its own, with no edit to its crate's files:
//!
//! - as a library its own `xtask` calls (`wasm_budget_gate::main()`), here a
//!   path dependency (a git dependency is the same to cargo);
//! - as a copy of the gate's `xtask/` directory.
//!
//! The team's repository is built the same way for both: the bindgen
//! fixture copied unedited into `web/` (its own workspace, rust-toolchain,
//! `.cargo/config.toml` rustflags and a release profile that strips
//! symbols), the team's `budgets.toml` at the root, found from the directory
//! `cargo xtask` runs in.

mod common;
use common::{copy_tree, root};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The team's repository; `xtask` adds the team's gate package and its
/// `cargo xtask` alias.
fn team_repo(name: &str, member: &str, xtask: impl FnOnce(&Path)) -> PathBuf {
    let team = std::env::temp_dir().join(format!("xtask-adopt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&team);
    let fixture = root().join("tests/bindgen-fixture");
    copy_tree(&fixture, &team.join("web"), &["target", "reports"]);

    // The fixture's own budgets, written at the team's root for the crate in web/.
    let own = std::fs::read_to_string(fixture.join("budgets.toml")).unwrap();
    let mut budgets = own.clone();
    for key in ["manifest = \"", "profiles_dir = \"", "scenarios = \""] {
        assert!(budgets.contains(key), "{key} in the fixture's budgets.toml");
        budgets = budgets.replacen(key, &format!("{key}web/"), 1);
    }
    std::fs::write(team.join("budgets.toml"), budgets).unwrap();

    // The gate's pinned toolchain and lockfile: the team's gate resolves the
    // versions the gate was tested with. The workspace manifest carries the
    // README's `[profile.dev]` block (binaryen and the gate built optimized).
    std::fs::copy(
        root().join("rust-toolchain.toml"),
        team.join("rust-toolchain.toml"),
    )
    .unwrap();
    std::fs::copy(root().join("Cargo.lock"), team.join("Cargo.lock")).unwrap();
    let gate: toml::Table = std::fs::read_to_string(root().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let mut profile = toml::Table::new();
    profile.insert("dev".into(), gate["profile"]["dev"].clone());
    let mut profiles = toml::Table::new();
    profiles.insert("profile".into(), toml::Value::Table(profile));
    let manifest = format!(
        "[workspace]\nresolver = \"2\"\nmembers = [\"{member}\"]\nexclude = [\"web\"]\n\n{}",
        toml::to_string(&profiles).unwrap()
    );
    std::fs::write(team.join("Cargo.toml"), manifest).unwrap();
    xtask(&team);
    team
}

/// `cargo xtask ARGS` in the team's repository, as its developers run it:
/// without the suite's rustup and cargo environment. The team's compile
/// shares the suite's build directory (`build.build-dir`), so the gate's
/// dependencies, binaryen above all, are not compiled again; its binaries
/// go to the team's own target directory, never over the suite's `xtask`.
fn cargo_xtask(team: &Path, args: &[&str]) -> Output {
    let shared = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let build_dir = toml::Value::String(shared.display().to_string());
    let mut c = Command::new("cargo");
    c.arg("--config")
        .arg(format!("build.build-dir={build_dir}"))
        .arg("xtask")
        .args(args)
        .current_dir(team);
    c.env_remove("CARGO_TARGET_DIR");
    wasm_budget_gate::toolchain::without_gate_env(&mut c);
    c.output().unwrap()
}

/// What both paths must show: the crate built as it is, gated, with its
/// reports next to the team's budgets.toml.
fn check_gated(team: &Path, out: &Output, metrics: &[&str]) {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        !stderr.contains("retrying"),
        "a clean run retries nothing:\n{stderr}"
    );
    assert!(
        stderr.contains("subject toolchain 1.95.0-") && stderr.contains("web/rust-toolchain.toml"),
        "{stderr}"
    );
    assert!(
        stderr.contains("rustflags: the subject's own `--cfg fixture_config_flag`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("sets strip = \"symbols\" (inherited by `wasm-min`)"),
        "{stderr}"
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(team.join("reports/summary.json")).unwrap())
            .unwrap();
    assert!(
        common::schema::check_summary(&s).is_empty(),
        "{:?}",
        common::schema::check_summary(&s)
    );
    // The binaryen version came from a lockfile (the copy's is the team's,
    // two levels up).
    assert!(
        s["fingerprint"]["binaryen"]
            .as_str()
            .unwrap()
            .starts_with("binaryen version_116 (wasm-opt crate 0.116."),
        "{}",
        s["fingerprint"]
    );
    let recs = s["records"].as_array().unwrap();
    for id in metrics {
        let r = recs
            .iter()
            .find(|r| r["metric_id"] == *id && r["profile"] == "core-min")
            .unwrap_or_else(|| panic!("{id}: {s}"));
        assert_eq!(r["status"], "pass", "{r}");
        assert!(r["value"].as_f64().unwrap() > 0.0, "{r}");
    }
    let a = &s["artifacts"][0];
    let shipped = std::fs::read(team.join(a["shipped"].as_str().unwrap())).unwrap();
    assert!(
        shipped.windows(23).any(|w| w == b"built_with_config_flags"),
        "the crate's own rustflags reached the build"
    );
    // The team's `cargo xtask` binary is its own.
    assert!(team.join("target/debug/xtask").is_file());
}

#[test]
fn a_team_xtask_calling_the_gate_as_a_library_gates_the_crate_unedited() {
    let team = team_repo("library", "xtask", |team| {
        std::fs::create_dir_all(team.join("xtask/src")).unwrap();
        let dep = toml::Value::String(root().join("xtask").display().to_string());
        std::fs::write(
            team.join("xtask/Cargo.toml"),
            format!("[package]\nname = \"xtask\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nwasm-budget-gate = {{ path = {dep} }}\n"),
        )
        .unwrap();
        std::fs::write(
            team.join("xtask/src/main.rs"),
            "fn main() -> std::process::ExitCode {\n    wasm_budget_gate::main()\n}\n",
        )
        .unwrap();
        std::fs::create_dir_all(team.join(".cargo")).unwrap();
        std::fs::write(
            team.join(".cargo/config.toml"),
            "[alias]\nxtask = \"run --package xtask --\"\n",
        )
        .unwrap();
    });
    // Through the browser too: cold init through the glue, and heap.
    let out = cargo_xtask(&team, &["budget", "--quick", "--profile", "core-min"]);
    check_gated(
        &team,
        &out,
        &["B-SIZE-RAW", "B-SIZE-GZ", "B-INIT", "B-HEAP"],
    );
    let _ = std::fs::remove_dir_all(&team);
}

#[test]
fn a_copy_of_the_gate_directory_gates_the_crate_unedited() {
    // Not at `xtask/`: cargo hashes a member by its path inside the
    // workspace, so a copy at the gate's own relative path would share
    // (and overwrite) the suite's build units in the shared build directory.
    let team = team_repo("copy", "tools/wasm-budget-gate", |team| {
        // The README's copy: xtask/ without the gate's own tests (they need
        // the gate's repository), and the gate's alias.
        copy_tree(
            &root().join("xtask"),
            &team.join("tools/wasm-budget-gate"),
            &["tests"],
        );
        std::fs::create_dir_all(team.join(".cargo")).unwrap();
        std::fs::copy(
            root().join(".cargo/config.toml"),
            team.join(".cargo/config.toml"),
        )
        .unwrap();
    });
    let out = cargo_xtask(&team, &["size", "--profile", "core-min"]);
    check_gated(&team, &out, &["B-SIZE-RAW", "B-SIZE-GZ"]);
    let _ = std::fs::remove_dir_all(&team);
}
