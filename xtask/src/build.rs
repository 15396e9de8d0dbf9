//! Stage 1, build: compile the subject to `wasm32-unknown-unknown` for one
//! profile, making sure the target is installed first.

use crate::config::{Config, Profile};
use crate::util::run_captured;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const TARGET: &str = "wasm32-unknown-unknown";

/// Install the wasm target with rustup when the pinned toolchain lacks it.
/// `RUSTUP_AUTO_INSTALL=0` means the toolchain file alone will not do it.
///
/// Two gates starting at once on a fresh machine (parallel tests, two CI
/// jobs on one runner) used to run `rustup target add` side by side, and
/// rustup's downloads and file moves collided: both failed. One machine-wide
/// lock file serializes the check and the install; the second gate finds the
/// target installed when it gets the lock.
pub fn ensure_target(root: &Path) -> Result<()> {
    let installed = || -> Option<bool> {
        let o = Command::new("rustup").args(["target", "list", "--installed"]).current_dir(root).output().ok()?;
        o.status.success().then(|| String::from_utf8_lossy(&o.stdout).lines().any(|l| l.trim() == TARGET))
    };
    // No rustup: trust that the toolchain has the target; cargo will say
    // clearly if it does not.
    match installed() {
        None | Some(true) => return Ok(()),
        Some(false) => {}
    }
    let lock_path = std::env::temp_dir().join("xtask-rustup-target-add.lock");
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).with_context(|| format!("opening {}", lock_path.display()))?;
    lock.lock().with_context(|| format!("locking {}", lock_path.display()))?;
    if installed() == Some(true) {
        return Ok(());
    }
    eprintln!("budget: the {TARGET} target is missing; installing it with `rustup target add {TARGET}`");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .current_dir(root)
        .status()
        .context("running rustup")?;
    if !status.success() {
        return Err(anyhow::anyhow!(format!(
            "could not install the {TARGET} target; run `rustup target add {TARGET}` in {} and retry",
            root.display()
        )));
    }
    Ok(())
}

/// The result of building one profile.
#[derive(Debug, Clone)]
pub struct Built {
    /// The `.wasm` cargo produced.
    pub wasm: PathBuf,
    /// The exact command, for the summary's `commands`.
    pub command: String,
}

/// The target directory the gate's builds and caches live under:
/// `$CARGO_TARGET_DIR`, else `target/` next to the budgets file. The
/// end-to-end tests point every scratch project at the workspace's, so the
/// suite builds each subject configuration once.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"))
}

/// `cargo build` one profile of the subject. Each profile configuration
/// (manifest, cargo profile, features, flags, build environment) gets its
/// own cargo target directory, so switching profiles never invalidates
/// another's incremental state, a warm run is a true no-op for cargo, and
/// two gates sharing a target directory never overwrite each other's
/// `.wasm` between one's build and its read (a directory per profile name
/// allowed that when two configurations shared a name).
pub fn build(cfg: &Config, profile: &Profile) -> Result<Built> {
    let configuration = format!(
        "{}\n{}\n{:?}\n{:?}\n{:?}",
        cfg.manifest.display(),
        profile.cargo_profile,
        profile.features,
        profile.rustflags,
        profile.build_env
    );
    let key = crate::util::content_hash(&[configuration.as_bytes()]);
    let tdir = target_dir(&cfg.root).join("budget").join("cargo").join(format!("{}-{}", profile.name, &key[..key.len().min(12)]));
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(&cfg.root)
        .arg("build")
        .arg("--manifest-path")
        .arg(&cfg.manifest)
        .args(["--package", &cfg.package, "--lib", "--target", TARGET])
        .arg("--profile")
        .arg(&profile.cargo_profile)
        .arg("--target-dir")
        .arg(&tdir)
        .arg("--no-default-features");
    if !profile.features.is_empty() {
        cmd.arg("--features").arg(profile.features.join(","));
    }
    // The gate's own RUSTFLAGS (from the xtask's environment) must not leak
    // into the subject's build; only the profile's flags apply.
    cmd.env_remove("RUSTFLAGS").env_remove("CARGO_ENCODED_RUSTFLAGS");
    for (k, v) in &profile.build_env {
        cmd.env(k, v);
    }
    let flags = profile.rustflags.join("\x1f");
    cmd.env("CARGO_ENCODED_RUSTFLAGS", &flags);
    let command = format!(
        "cargo build --manifest-path {} --package {} --lib --target {TARGET} --profile {} --no-default-features{}{}",
        cfg.manifest.strip_prefix(&cfg.root).unwrap_or(&cfg.manifest).display(),
        cfg.package,
        profile.cargo_profile,
        if profile.features.is_empty() { String::new() } else { format!(" --features {}", profile.features.join(",")) },
        if flags.is_empty() { String::new() } else { format!(" (RUSTFLAGS: {})", profile.rustflags.join(" ")) },
    ) + &profile.build_env.iter().map(|(k, v)| format!(" ({k}={v})")).collect::<String>();
    let out = run_captured(&mut cmd).with_context(|| format!("running {command}"))?;
    if !out.status.success() {
        let tail: Vec<&str> = out.stderr.lines().rev().take(25).collect::<Vec<_>>().into_iter().rev().collect();
        return Err(anyhow::anyhow!(format!(
            "build of profile `{}` failed ({command}):\n{}",
            profile.name,
            tail.join("\n")
        )));
    }
    // Cargo's output directory for a custom profile is named after it, except
    // `dev` -> debug and `release` -> release.
    let dir = match profile.cargo_profile.as_str() {
        "dev" | "test" => "debug",
        "release" | "bench" => "release",
        p => p,
    };
    let wasm = tdir
        .join(TARGET)
        .join(dir)
        .join(format!("{}.wasm", cfg.package.replace('-', "_")));
    if !wasm.is_file() {
        return Err(anyhow::anyhow!(format!(
            "build of profile `{}` produced no {} (is the subject a cdylib? add `crate-type = [\"cdylib\"]` to its [lib])",
            profile.name,
            wasm.display()
        )));
    }
    Ok(Built { wasm, command })
}
