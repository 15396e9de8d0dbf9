//! A new team's first verdict in two commands: `cargo xtask init` on a
//! crate written here from scratch (nothing in the repository is tuned to
//! it), then `cargo xtask budget`, with real figures for size, cold init,
//! one call's latency and the heap through the built-in scenarios.
//!
//! Two crates: one with raw exports (and an imported clock, which init
//! wires to `now`), and a wasm-bindgen one whose API is a class: a
//! constructor that returns a handle and a method on it, so the call and
//! heap metrics need a setup and a teardown. Each is measured for one
//! profile in desktop Chromium (the other profiles are built and sized by
//! init); a third crate that does not build for wasm32 shows init's error.
//! The wasm-bindgen crate also has `#[wasm_bindgen_test]` functions, which
//! init turns into a timed pass and a heap soak of those that pass.

mod common;
use common::root;
use std::path::Path;
use std::process::Output;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const TOOLCHAIN: &str = "[toolchain]\nchannel = \"1.95.0\"\ntargets = [\"wasm32-unknown-unknown\"]\nprofile = \"minimal\"\n";

/// A crate of its own workspace at `dir`: manifest, toolchain pin, lib.rs.
fn new_crate(dir: &Path, name: &str, deps: &str, features: &str, lib: &str) {
    write(
        &dir.join("Cargo.toml"),
        &format!("[package]\nname = \"{name}\"\nversion = \"0.3.1\"\nedition = \"2021\"\n\n[lib]\ncrate-type = [\"cdylib\", \"rlib\"]\n\n[dependencies]\n{deps}\n[features]\n{features}\n[workspace]\n"),
    );
    write(&dir.join("rust-toolchain.toml"), TOOLCHAIN);
    write(&dir.join("src/lib.rs"), lib);
}

fn xtask(args: &[&str]) -> (Option<i32>, String) {
    let out: Output = common::xtask_cmd().args(args).output().unwrap();
    (
        out.status.code(),
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A handle-based wasm-bindgen crate: `push` keeps a bounded window,
/// `record` appends a 1 KiB entry to a journal (trimmed once the leak is
/// fixed), `abi_version` returns a constant.
const HANDLEDEMO: &str = r#"use wasm_bindgen::prelude::*;
#[wasm_bindgen]
pub struct Window {
    values: Vec<u32>,
    journal: Vec<String>,
}
const LEAK_FIXED: bool = true;
#[wasm_bindgen]
impl Window {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Window {
        Window { values: Vec::with_capacity(128), journal: Vec::new() }
    }
    /// Push a value and return the window's sum.
    pub fn push(&mut self, x: u32) -> u32 {
        self.values.push(x);
        if self.values.len() > 100 {
            self.values.drain(..50);
        }
        self.values.iter().sum()
    }
    /// Append a 1 KiB journal entry.
    pub fn record(&mut self, tag: &str) {
        let mut e = String::with_capacity(1024);
        while e.len() + tag.len() <= 1024 {
            e.push_str(tag);
        }
        self.journal.push(e);
        if LEAK_FIXED && self.journal.len() > 64 {
            self.journal.drain(..32);
        }
    }
}
#[wasm_bindgen]
pub fn abi_version() -> u32 {
    7
}
"#;

/// handledemo's own tests (`tests/web.rs`).
const HANDLEDEMO_TESTS: &str = r#"use handledemo::Window;
use wasm_bindgen_test::*;
wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn window_sums() {
    let mut w = Window::new();
    let mut last = 0;
    for i in 0..200 {
        last = w.push(i);
    }
    assert!(last > 0);
}

#[wasm_bindgen_test]
fn journal_records() {
    let mut w = Window::new();
    for _ in 0..16 {
        w.record("t");
    }
}

#[wasm_bindgen_test]
fn fails_on_purpose() {
    assert_eq!(handledemo::abi_version(), 8);
}

#[wasm_bindgen_test]
#[ignore]
fn not_now() {}
"#;

fn summary(gate: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(gate.join("reports/summary.json")).unwrap())
        .unwrap()
}

fn budget(gate: &Path) -> (Option<i32>, String) {
    xtask(&[
        "budget",
        "--budgets",
        arg(&gate.join("budgets.toml")),
        "--env",
        "desktop",
        "--profile",
        "core-min",
    ])
}

/// `init` then `budget --env desktop --profile core-min`; the summary.
fn init_and_budget(krate: &Path, gate: &Path) -> serde_json::Value {
    let (code, text) = init_and_budget_code(krate, gate);
    assert_eq!(code, Some(0), "{text}");
    summary(gate)
}

/// `init`, then `budget`'s exit code and output.
fn init_and_budget_code(krate: &Path, gate: &Path) -> (Option<i32>, String) {
    let (code, text) = xtask(&[
        "init",
        "--manifest",
        arg(&krate.join("Cargo.toml")),
        "--out",
        arg(gate),
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("next: cargo xtask budget --budgets"),
        "{text}"
    );
    // init wrote the configuration, and nothing in the crate.
    for f in [
        "budgets.toml",
        "profiles/core-min.toml",
        "profiles/full-dev.toml",
    ] {
        assert!(gate.join(f).is_file(), "{f}\n{text}");
    }
    assert!(!krate.join("budgets.toml").exists() && !krate.join("profiles").exists());
    let budgets = std::fs::read_to_string(gate.join("budgets.toml")).unwrap();
    assert!(
        !budgets.contains("# source = \"builtin:call\""),
        "init left the call unwired:\n{budgets}"
    );
    budget(gate)
}

fn record<'a>(s: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    s["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric_id"] == id && r["profile"] == "core-min")
        .unwrap_or_else(|| panic!("no {id}: {s}"))
}

/// Every figure init wired is a real, passing measurement; the method
/// says what was timed.
fn check_figures(s: &serde_json::Value, call_words: &str) {
    assert!(
        common::schema::check_summary(s).is_empty(),
        "{:?}",
        common::schema::check_summary(s)
    );
    for id in ["SIZE-RAW", "SIZE-GZIP", "INIT", "CALL", "HEAP"] {
        let r = record(s, id);
        assert_eq!(r["status"], "pass", "{r}");
        assert!(r["value"].as_f64().is_some_and(|v| v > 0.0), "{r}");
    }
    let call = record(s, "CALL");
    assert!(
        call["method"].as_str().unwrap().contains(call_words),
        "{call}"
    );
    assert_eq!(
        record(s, "HEAP")["heap_growth"]["seeds"],
        5,
        "{}",
        record(s, "HEAP")
    );
}

#[test]
fn init_then_budget_gives_a_first_verdict_on_new_crates() {
    let dir = common::TempDir::new("init");

    // Raw exports: an init, a call, an imported clock.
    let raw = dir.join("rawdemo");
    new_crate(
        &raw,
        "rawdemo",
        "",
        "default = []\ntrace = []\n",
        r#"use std::cell::RefCell;
extern "C" {
    fn host_now() -> f64;
}
thread_local! { static STATE: RefCell<Vec<u64>> = RefCell::new(Vec::new()); }
#[no_mangle]
pub extern "C" fn demo_init(seed: u32) -> u32 {
    let t = unsafe { host_now() } as u64;
    STATE.with(|s| *s.borrow_mut() = (0..256).map(|i| i ^ seed as u64 ^ t).collect());
    seed
}
#[no_mangle]
pub extern "C" fn checksum(n: u32) -> u32 {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let v: Vec<u64> = (0..n as u64 + 32).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).collect();
        s.extend_from_slice(&v[..4]);
        if s.len() > 512 {
            s.drain(..256);
        }
        (v.iter().sum::<u64>() ^ s.len() as u64) as u32
    })
}
"#,
    );
    let s = init_and_budget(&raw, &dir.join("gate-raw"));
    let budgets = std::fs::read_to_string(dir.join("gate-raw/budgets.toml")).unwrap();
    assert!(
        budgets.contains("imports = { \"env.host_now\" = \"now\" }"),
        "{budgets}"
    );
    assert!(
        budgets.contains("call = { export = \"demo_init\", args = [1] }"),
        "{budgets}"
    );
    check_figures(&s, "checksum(1)");

    // Run again: init refuses to overwrite what it wrote.
    let (code, text) = xtask(&[
        "init",
        "--manifest",
        arg(&raw.join("Cargo.toml")),
        "--out",
        arg(&dir.join("gate-raw")),
    ]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("init would overwrite") && text.contains("--force"),
        "{text}"
    );

    // wasm-bindgen, a handle-based API. The wasm-bindgen version of the
    // repository's fixture, so the suite installs one CLI.
    let lock = std::fs::read_to_string(root().join("tests/bindgen-fixture/Cargo.lock")).unwrap();
    let version = lock
        .split("name = \"wasm-bindgen\"\nversion = \"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let bg = dir.join("handledemo");
    new_crate(
        &bg,
        "handledemo",
        &format!("wasm-bindgen = \"={version}\"\n"),
        "default = []\nconsole-log = []\n",
        &HANDLEDEMO.replace("LEAK_FIXED: bool = true", "LEAK_FIXED: bool = false"),
    );
    std::fs::write(
        bg.join("Cargo.lock"),
        lock.replace("name = \"bindgen-fixture\"", "name = \"handledemo\""),
    )
    .unwrap();
    // Its own #[wasm_bindgen_test] functions: two that pass, one that
    // fails and one ignored (both left out by init, with why).
    let manifest = std::fs::read_to_string(bg.join("Cargo.toml")).unwrap();
    write(
        &bg.join("Cargo.toml"),
        &format!("{manifest}\n[dev-dependencies]\nwasm-bindgen-test = \"0.3\"\n"),
    );
    write(&bg.join("tests/web.rs"), HANDLEDEMO_TESTS);
    // init's config alone fails the leak: its heap soak calls every
    // method, so `record`'s unbounded journal shows.
    let gate = dir.join("gate-bg");
    let (code, leaking) = init_and_budget_code(&bg, &gate);
    assert_eq!(code, Some(1), "{leaking}");
    let s = summary(&gate);
    let heap = record(&s, "HEAP");
    assert_eq!(heap["status"], "fail", "{heap}");
    assert!(
        heap["verdict"]["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("heap still growing"),
        "{heap}"
    );
    // The report lists what the soak exercised.
    let method = heap["method"].as_str().unwrap();
    assert!(
        method.contains("each operation calls 3 exports in a seeded order")
            && [
                "Window.push(1)",
                "Window.record(\"budget\")",
                "abi_version()",
                "on new Window(), constructed once"
            ]
            .iter()
            .all(|w| method.contains(w)),
        "{heap}"
    );
    let budgets = std::fs::read_to_string(gate.join("budgets.toml")).unwrap();
    // The timed call is the slowest that changes memory, not the constant
    // getter, and init says why it chose it; the soak is every call that ran.
    assert!(
        budgets.contains("setup = { new = \"Window\" }")
            && budgets.contains("call = { method = \"record\", args = [\"budget\"] }")
            && budgets.contains("teardown = { method = \"free\" }")
            && budgets.contains("took the longest of those that change the module's memory")
            && budgets.contains("{ method = \"push\", on = \"Window\", args = [1] },")
            && budgets.contains("{ export = \"abi_version\" },")
            && budgets.contains("3x the p95 init measured in desktop Chromium"),
        "{budgets}"
    );
    // Its tests: a timed pass of those that passed, and a soak of them.
    assert!(
        budgets.contains("source = \"builtin:tests\"")
            && budgets.contains("[metric.tests]\ntarget = \"web\"")
            && budgets.contains("# Left out: fails_on_purpose (fails in the browser")
            && budgets.contains("# Left out: not_now (#[ignore]d)"),
        "{budgets}"
    );
    for id in ["TESTS", "TESTS-HEAP"] {
        let r = record(&s, id);
        assert_eq!(r["status"], "pass", "{r}");
        assert!(r["value"].as_f64().is_some_and(|v| v > 0.0), "{r}");
        let method = r["method"].as_str().unwrap();
        assert!(
            method.contains("2 #[wasm_bindgen_test] functions of test target `web`")
                && method.contains("window_sums")
                && method.contains("journal_records"),
            "{r}"
        );
    }
    assert_eq!(record(&s, "TESTS-HEAP")["heap_growth"]["seeds"], 5);
    // The same crate with the leak fixed passes, on the same config.
    write(&bg.join("src/lib.rs"), HANDLEDEMO);
    let (code, text) = budget(&gate);
    assert_eq!(code, Some(0), "{text}");
    let s = summary(&gate);
    // The diagnostic feature got a profile of its own.
    assert!(
        std::fs::read_to_string(dir.join("gate-bg/profiles/core-trace.toml"))
            .unwrap()
            .contains("\"console-log\"")
    );
    check_figures(&s, "handle.record(\"budget\")");
    assert!(
        record(&s, "INIT")["method"]
            .as_str()
            .unwrap()
            .contains("new Window()"),
        "{}",
        record(&s, "INIT")
    );

    // A crate that does not build for wasm32: exit 2, naming the crate and
    // the compiler's first error, and no configuration left behind.
    let bad = dir.join("nativeonly");
    new_crate(
        &bad,
        "nativeonly",
        "",
        "",
        "#[cfg(target_arch = \"wasm32\")]\ncompile_error!(\"nativeonly needs an OS\");\n",
    );
    let (code, text) = xtask(&[
        "init",
        "--manifest",
        arg(&bad.join("Cargo.toml")),
        "--out",
        arg(&dir.join("gate-bad")),
    ]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("`nativeonly` does not build for wasm32-unknown-unknown")
            && text.contains("error: nativeonly needs an OS"),
        "{text}"
    );
    assert!(!dir.join("gate-bad/budgets.toml").exists());
}

/// `--help` is the first thing a newcomer types: each command's usage, exit 0.
#[test]
fn every_command_answers_help() {
    for cmd in ["init", "budget", "size", "attribute", "merge", "calibrate"] {
        let (code, text) = xtask(&[cmd, "--help"]);
        assert_eq!(code, Some(0), "{cmd}: {text}");
        assert!(
            text.contains(&format!("cargo xtask {cmd}")),
            "{cmd}: {text}"
        );
    }
}
