//! Shared by the unit tests (config) and the CLI tests: a scratch copy of
//! the project's budgets.toml and profiles that points back at the real
//! subject, for editing one key at a time.

use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The gate's binary, run from the project root, with its builds and
/// optimizer cache in the workspace's target directory (unless the caller
/// chose one): scratch projects then share one build per subject
/// configuration instead of rebuilding the subject in every test.
#[allow(dead_code)]
pub fn xtask_cmd() -> std::process::Command {
    // Set at compile time for integration tests only (the unit tests share
    // this file and never call it).
    let Some(bin) = option_env!("CARGO_BIN_EXE_xtask") else {
        panic!("xtask_cmd is for integration tests")
    };
    let mut c = std::process::Command::new(bin);
    c.current_dir(root());
    if std::env::var_os("CARGO_TARGET_DIR").is_none() {
        c.env("CARGO_TARGET_DIR", root().join("target"));
    }
    c
}

/// A fresh directory under the system temp directory, removed when the
/// guard drops. A test that panics keeps it, for a look at what it wrote.
pub struct TempDir(PathBuf);

impl TempDir {
    #[allow(dead_code)]
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("xtask-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A scratch copy of the project's config (budgets.toml + profiles) whose
/// budgets.toml points back at the real subject and scenarios; removed
/// when the returned guard drops.
#[allow(dead_code)]
pub fn scratch(name: &str, edit: impl Fn(String) -> String) -> TempDir {
    let dir = TempDir::new(name);
    std::fs::create_dir_all(dir.join("profiles")).unwrap();
    for p in ["core-min", "core-trace", "full-dev"] {
        std::fs::copy(
            root().join(format!("profiles/{p}.toml")),
            dir.join(format!("profiles/{p}.toml")),
        )
        .unwrap();
    }
    let r = root();
    let text = std::fs::read_to_string(r.join("budgets.toml"))
        .unwrap()
        .replace(
            "manifest = \"runtime/Cargo.toml\"",
            &format!("manifest = \"{}\"", r.join("runtime/Cargo.toml").display()),
        )
        .replace(
            "scenarios = \"runtime/scenarios\"",
            &format!("scenarios = \"{}\"", r.join("runtime/scenarios").display()),
        );
    std::fs::write(dir.join("budgets.toml"), edit(text)).unwrap();
    dir
}

#[allow(dead_code)]
pub mod history;

#[allow(dead_code)]
pub mod schema;

/// Copy a directory tree, leaving out entries named in `skip` (at any depth).
#[allow(dead_code)]
pub fn copy_tree(from: &Path, to: &Path, skip: &[&str]) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&src, &dst, skip);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// The budgets text with its `scenarios = ...` line pointing at `dir`.
#[allow(dead_code)]
pub fn with_scenarios_dir(text: &str, dir: &Path) -> String {
    let line = text
        .lines()
        .find(|l| l.starts_with("scenarios = "))
        .unwrap();
    text.replace(line, &format!("scenarios = \"{}\"", dir.display()))
}

/// Keep only the `[[metric]]` blocks whose id is in `ids`.
#[allow(dead_code)]
pub fn only_metrics(text: &str, ids: &[&str]) -> String {
    let mut parts = text.split("[[metric]]");
    let mut out = parts.next().unwrap_or("").to_string();
    for block in parts {
        if ids
            .iter()
            .any(|id| block.contains(&format!("id = \"{id}\"")))
        {
            out.push_str("[[metric]]");
            out.push_str(block);
        }
    }
    out
}

/// The shipped budgets.toml with only the 02A, 03A and 03B keys of one
/// engine (`suffix`: "firefox", "webkit"), each for core-min only: one
/// lean full-protocol run of that engine.
#[allow(dead_code)]
pub fn engine_keys_core_min(text: &str, suffix: &str) -> String {
    let ids: Vec<String> = ["02A", "03A", "03B"]
        .iter()
        .map(|k| format!("M-PERF-{k}-{suffix}"))
        .collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut out = only_metrics(text, &ids);
    for (all, core_min) in [
        ("core-min = 24, core-trace = 32, full-dev = 48", "24"),
        ("core-min = 60, core-trace = 85, full-dev = 130", "60"),
        ("core-min = 2.5, core-trace = 3.5, full-dev = 5.0", "2.5"),
    ] {
        out = out.replace(
            &format!("hard = {{ {all} }}"),
            &format!("profiles = [\"core-min\"]\nhard = {{ core-min = {core_min} }}"),
        );
    }
    out
}

/// What a full-protocol run of [`engine_keys_core_min`] in engine
/// `suffix` ("firefox", "webkit") must show: the browser in the
/// fingerprint (kind, protocol, a product named `product`..., isolated, a
/// clock of at most 100 us), cold init and cancellation passing above the
/// clock floor with 5 seeds of at least 2000 samples through `protocol`,
/// and the heap over the linear memory alone with its growth check, and
/// cold init's method naming `js_engine`. Returns the fingerprint's
/// browser.
#[allow(dead_code)]
pub fn check_engine_run(
    s: &serde_json::Value,
    suffix: &str,
    (protocol, product, js_engine): (&str, &str, &str),
) -> serde_json::Value {
    let env = format!("{suffix}-desktop");
    let b = &s["fingerprint"]["environments"][&env]["browser"];
    assert_eq!(b["kind"], suffix, "{b}");
    assert_eq!(b["protocol"], protocol, "{b}");
    assert!(
        b["product"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .starts_with(&product.to_lowercase()),
        "{b}"
    );
    assert_eq!(b["cross_origin_isolated"], true, "COOP/COEP honoured: {b}");
    let tick_us = b["timer_resolution_us"].as_f64().unwrap();
    assert!(
        tick_us > 0.0 && tick_us <= 100.0,
        "isolated clock {tick_us} us"
    );
    for key in ["02A", "03B"] {
        let id = format!("M-PERF-{key}-{suffix}");
        let r = record(s, &id);
        assert_eq!(r["environment"], env.as_str());
        assert_eq!(r["status"], "pass", "{r}");
        assert!(r["value"].as_f64().unwrap() > 0.0, "{r}");
        // Above the clock floor, in this page's own (coarser) ticks.
        let clock = &r["clock"];
        if key == "02A" {
            assert!(
                (clock["tick_in_unit"].as_f64().unwrap() - tick_us / 1000.0).abs() < 1e-9,
                "the engine's own tick: {clock}"
            );
        }
        assert!(
            clock["ticks"].as_f64().unwrap() >= clock["floor_ticks"].as_f64().unwrap(),
            "{id} resolved: {clock}"
        );
        assert!(
            r["commands"][0]
                .as_str()
                .unwrap()
                .contains(&format!("via {protocol}")),
            "{r}"
        );
        let seeds = r["per_seed"].as_array().unwrap();
        assert_eq!(seeds.len(), 5);
        assert!(
            seeds.iter().all(|x| x["samples"].as_u64().unwrap() >= 2000),
            "the full protocol: {r}"
        );
    }
    // The heap where no GC can be forced: the linear memory alone, said so,
    // with the growth check.
    let heap = record(s, &format!("M-PERF-03A-{suffix}"));
    assert_eq!(heap["status"], "pass", "{heap}");
    assert!(
        heap["method"]
            .as_str()
            .unwrap()
            .contains("wasm linear memory alone"),
        "{heap}"
    );
    assert_eq!(heap["heap_growth"]["seeds"], 5, "{heap}");
    let method = record(s, &format!("M-PERF-02A-{suffix}"))["method"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        method.contains(js_engine) && method.contains("no GC is forced"),
        "the figure says what it covers here: {method}"
    );
    b.clone()
}

/// The record of metric `id` in summary `s` (the first, for a key with
/// several profiles).
#[allow(dead_code)]
pub fn record<'a>(s: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    s["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric_id"] == id)
        .unwrap_or_else(|| panic!("no {id} record in {s}"))
}

/// A scratch project whose only metrics are M-PERF-01A and one scenario
/// metric `ID` (desktop) running `js` as `scenarios/<name>.js`, with a 3 s
/// scenario timeout: for the fault tests (hung, spinning scenarios). The
/// scratch directory's guard and the budgets file's path.
#[allow(dead_code)]
pub fn scratch_with_scenario(
    dir_name: &str,
    scenario: &str,
    id: &str,
    js: &str,
) -> (TempDir, PathBuf) {
    scratch_with_scenario_in(dir_name, scenario, id, js, "desktop")
}

/// [`scratch_with_scenario`], measured in environment `env`.
#[allow(dead_code)]
pub fn scratch_with_scenario_in(
    dir_name: &str,
    scenario: &str,
    id: &str,
    js: &str,
    env: &str,
) -> (TempDir, PathBuf) {
    let d = scratch(dir_name, |t| t);
    let scen = d.join("scenarios");
    std::fs::create_dir_all(&scen).unwrap();
    std::fs::write(scen.join(format!("{scenario}.js")), js).unwrap();
    let b = d.join("budgets.toml");
    let text = with_scenarios_dir(&only_metrics(&std::fs::read_to_string(&b).unwrap(), &["M-PERF-01A"]), &scen)
        .replace("scenario_timeout_s = 180", "scenario_timeout_s = 3")
        + &format!(
            "\n[[metric]]\nid = \"{id}\"\nname = \"{scenario}\"\nunit = \"ms\"\nkind = \"hard\"\nsource = \"scenario:{scenario}\"\nenvironment = \"{env}\"\nhard = {{ core-min = 1, core-trace = 1, full-dev = 1 }}\n"
        );
    std::fs::write(&b, text).unwrap();
    (d, b)
}
