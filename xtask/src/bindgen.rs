//! Stage 1b, bindgen: for subjects that use wasm-bindgen, run the
//! wasm-bindgen CLI at exactly the version the subject's lockfile pins
//! (the CLI and the macro must agree on the schema, or it refuses), target
//! `web`. The CLI comes from PATH when its version matches, else from the
//! gate's tool cache (`target/budget/tools/`), installed from crates.io
//! with `cargo install` on first use.

use crate::util::run_captured;
use anyhow::{anyhow, bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The wasm-bindgen version a subject pins, or None when it does not use
/// wasm-bindgen.
pub fn pinned_version(manifest: &Path) -> Result<Option<String>> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    let v: toml::Value =
        toml::from_str(&text).map_err(|e| anyhow!("{}: {}", manifest.display(), e.message()))?;
    let uses = v
        .get("dependencies")
        .and_then(|d| d.get("wasm-bindgen"))
        .is_some();
    if !uses {
        return Ok(None);
    }
    match locked_version(manifest)? {
        Some(v) => Ok(Some(v)),
        None => bail!(
            "the Cargo.lock of {} does not pin wasm-bindgen; run `cargo update -p wasm-bindgen`",
            manifest.display()
        ),
    }
}

/// The wasm-bindgen version the subject's lockfile pins, whether the crate
/// itself or only its tests (`wasm-bindgen-test`, often a target-specific
/// dev-dependency) use it; None when the lockfile has no wasm-bindgen.
pub fn locked_version(manifest: &Path) -> Result<Option<String>> {
    let lock = find_lockfile(manifest).ok_or_else(|| {
        anyhow!("{} uses wasm-bindgen but has no Cargo.lock; run `cargo generate-lockfile` so the gate knows which wasm-bindgen CLI to use", manifest.display())
    })?;
    let text = std::fs::read_to_string(&lock)?;
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l.trim() == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines
                .next()
                .and_then(|v| v.trim().strip_prefix("version = "))
            {
                return Ok(Some(v.trim_matches('"').to_string()));
            }
        }
    }
    Ok(None)
}

fn find_lockfile(manifest: &Path) -> Option<PathBuf> {
    let mut dir = manifest.parent().map(Path::to_path_buf);
    while let Some(d) = dir {
        let l = d.join("Cargo.lock");
        if l.is_file() {
            return Some(l);
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    None
}

/// `wasm-bindgen --version` of a binary: "wasm-bindgen 0.2.100 (...)".
fn version_of(bin: &Path) -> Option<String> {
    let out = Command::new(bin).arg("--version").output().ok()?;
    let s = String::from_utf8_lossy(&out.stdout);
    s.split_whitespace().nth(1).map(String::from)
}

/// A wasm-bindgen CLI at exactly `version`.
pub fn cli(version: &str, tools: &Path) -> Result<PathBuf> {
    for p in crate::util::on_path(&["wasm-bindgen"]) {
        match version_of(&p) {
            Some(v) if v == version => return Ok(p),
            Some(v) => eprintln!(
                "budget: {} is wasm-bindgen {v}, but the subject pins {version}; using a matching CLI from the tool cache instead",
                p.display()
            ),
            None => {}
        }
    }
    let root = tools.join(format!("wasm-bindgen-{version}"));
    let bin = root.join("bin").join("wasm-bindgen");
    if bin.is_file() && version_of(&bin).as_deref() == Some(version) {
        return Ok(bin);
    }
    // The cache is shared by every project on the machine: two gates
    // installing one version at once would collide. The second waits for
    // the first and finds the CLI installed.
    std::fs::create_dir_all(tools).with_context(|| format!("creating {}", tools.display()))?;
    let _lock = crate::util::lock_exclusive(&tools.join(format!("wasm-bindgen-{version}.lock")))?;
    if bin.is_file() && version_of(&bin).as_deref() == Some(version) {
        return Ok(bin);
    }
    eprintln!(
        "budget: installing wasm-bindgen-cli {version} into {} (once; a few minutes)",
        root.display()
    );
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    // Not --locked: a registry mirror may lack a patch release the
    // published lockfile names; the CLI's own version is pinned exactly.
    cmd.args(["install", "wasm-bindgen-cli", "--version"])
        .arg(format!("={version}"))
        .arg("--root")
        .arg(&root)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    let out = run_captured(&mut cmd).context("running cargo install")?;
    if !out.status.success() || !bin.is_file() {
        let tail: Vec<&str> = out
            .stderr
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        bail!(
            "could not install wasm-bindgen-cli {version}:\n{}\ninstall it yourself with `cargo install wasm-bindgen-cli --version ={version}` and put it on PATH",
            tail.join("\n")
        );
    }
    Ok(bin)
}

/// What wasm-bindgen produced.
pub struct Bindgen {
    /// The `_bg.wasm` to optimize, size and attribute.
    pub wasm: PathBuf,
    /// The generated JS glue (ES module, target web).
    pub glue: PathBuf,
    pub command: String,
}

/// Run wasm-bindgen on `input` into `out_dir`.
pub fn run(cli: &Path, input: &Path, out_dir: &Path, name: &str) -> Result<Bindgen> {
    std::fs::create_dir_all(out_dir)?;
    let mut cmd = Command::new(cli);
    cmd.arg(input)
        .args([
            "--target",
            "web",
            "--out-name",
            name,
            "--keep-debug",
            "--out-dir",
        ])
        .arg(out_dir);
    let out = run_captured(&mut cmd).with_context(|| format!("running {}", cli.display()))?;
    if !out.status.success() {
        bail!(
            "wasm-bindgen failed on {}:\n{}",
            input.display(),
            out.stderr.trim()
        );
    }
    Ok(Bindgen {
        wasm: out_dir.join(format!("{name}_bg.wasm")),
        glue: out_dir.join(format!("{name}.js")),
        command: format!(
            "wasm-bindgen {} --target web --out-name {name} --keep-debug --out-dir {}",
            input.display(),
            out_dir.display()
        ),
    })
}
