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
