//! Which Rust toolchain builds the subject.
//!
//! A subject is built with *its own* toolchain: the `rust-toolchain.toml`
//! that rustup resolves from the subject's directory, as `cargo build` run
//! there by its team would. Under `cargo xtask`, rustup exports the gate's
//! toolchain as `RUSTUP_TOOLCHAIN` (and `CARGO` points into it); passed on,
//! they would silently override the subject's pin, so both are removed from
//! every child the gate runs for the subject. `toolchain` in `[subject]` of
//! `budgets.toml` overrides the resolution.

use anyhow::{anyhow, bail, Context, Result};

/// The target every subject is built for.
pub const TARGET: &str = "wasm32-unknown-unknown";
use std::path::{Path, PathBuf};
use std::process::Command;

/// The toolchain a subject resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    /// The rustup toolchain name (`1.95.0-x86_64-unknown-linux-gnu`), or
    /// empty when the machine has no rustup (then `cargo` on PATH builds).
    pub name: String,
    /// Why this one, in words ("overridden by '/p/rust-toolchain.toml'",
    /// "default", "budgets.toml [subject] toolchain").
    pub source: String,
    /// `rustc --version` of it.
    pub rustc: String,
    /// The subject's directory: children run there so cargo finds the
    /// subject's `.cargo/config.toml` too.
    pub dir: PathBuf,
}

/// rustup's and cargo's variables that would carry the gate's own toolchain
/// into the subject's build.
const GATE_TOOLCHAIN_VARS: &[&str] = &[
    "RUSTUP_TOOLCHAIN",
    "RUSTUP_TOOLCHAIN_SOURCE",
    "CARGO",
    "RUSTC",
    "RUSTDOC",
];

/// Whether `var` is one cargo sets for the program it runs (the gate under
/// `cargo xtask`, or a test of it): it describes the gate's own package, not
/// the subject's. Some build scripts (ring's) declare `rerun-if-env-changed`
/// on such names, so passing them on makes cargo rebuild those crates each
/// time the gate is started another way.
fn is_cargo_run_var(var: &str) -> bool {
    ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_BIN_EXE_"]
        .iter()
        .any(|p| var.starts_with(p))
        || [
            "CARGO_CRATE_NAME",
            "CARGO_BIN_NAME",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "OUT_DIR",
        ]
        .contains(&var)
}

/// Remove from `c`'s environment the gate's toolchain variables and what
/// cargo set about the gate's own package, so `c` runs as it would from
/// the user's shell (also used by the adoption tests for a team's cargo).
pub fn without_gate_env(c: &mut Command) -> &mut Command {
    for v in GATE_TOOLCHAIN_VARS {
        c.env_remove(v);
    }
    for (k, _) in std::env::vars_os() {
        if k.to_str().is_some_and(is_cargo_run_var) {
            c.env_remove(k);
        }
    }
    c
}

/// `program` in `dir`, without the gate's environment.
fn child(program: &str, dir: &Path) -> Command {
    let mut c = Command::new(program);
    c.current_dir(dir);
    without_gate_env(&mut c);
    c
}

fn rustup(dir: &Path) -> Command {
    let mut c = child("rustup", dir);
    c.env("RUST_BACKTRACE", "0");
    c
}

/// The install command a user runs for a missing toolchain.
pub fn install_hint(name: &str) -> String {
    format!(
        "rustup toolchain install {name} --profile minimal --target {}",
        TARGET
    )
}

/// Resolve the subject's toolchain: `configured` (from `[subject]`), else
/// what rustup resolves in `dir`. A toolchain that is not installed is an
/// error that gives the command to install it.
pub fn resolve(dir: &Path, configured: Option<&str>) -> Result<Toolchain> {
    resolve_or(
        dir,
        configured,
        "set `toolchain` in [subject] of budgets.toml",
    )
}

/// [`resolve`], naming `alternative` (what else the user can do) when the
/// toolchain is not installed.
pub fn resolve_or(dir: &Path, configured: Option<&str>, alternative: &str) -> Result<Toolchain> {
    let dir = dir.to_path_buf();
    let (name, source) = match configured {
        Some(t) => (
            t.to_string(),
            "budgets.toml [subject] toolchain".to_string(),
        ),
        None => {
            let out = match rustup(&dir).args(["show", "active-toolchain"]).output() {
                Ok(o) => o,
                // No rustup: cargo and rustc on PATH are all there is.
                Err(_) => {
                    let rustc =
                        version_of(Command::new("rustc").arg("--version").current_dir(&dir))
                            .unwrap_or_else(|| "unknown".into());
                    return Ok(Toolchain {
                        name: String::new(),
                        source: "no rustup: cargo on PATH".into(),
                        rustc,
                        dir,
                    });
                }
            };
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            if !out.status.success() {
                bail!(not_installed_message(&stderr, &dir, alternative));
            }
            parse_active(&stdout).ok_or_else(|| {
                anyhow!(
                    "`rustup show active-toolchain` in {} printed nothing usable: {}",
                    dir.display(),
                    stdout.trim()
                )
            })?
        }
    };
    let mut c = rustup(&dir);
    c.args(["run", &name, "rustc", "--version"]);
    let out = c.output().context("running rustup")?;
    if !out.status.success() {
        bail!(
            "the subject's toolchain `{name}` ({source}) is not installed: run `{}`, or set `toolchain` in [subject] of budgets.toml",
            install_hint(&name)
        );
    }
    let rustc = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok(Toolchain {
        name,
        source,
        rustc,
        dir,
    })
}

/// `NAME (REASON)` from `rustup show active-toolchain`.
fn parse_active(stdout: &str) -> Option<(String, String)> {
    let line = stdout.lines().find(|l| !l.trim().is_empty())?.trim();
    let (name, rest) = line.split_once(' ').unwrap_or((line, ""));
    let source = rest
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .to_string();
    Some((
        name.to_string(),
        if source.is_empty() {
            "rustup's active toolchain".into()
        } else {
            source
        },
    ))
}

/// rustup's refusal, rewritten as what to do.
fn not_installed_message(stderr: &str, dir: &Path, alternative: &str) -> String {
    let quoted = stderr
        .split('\'')
        .nth(1)
        .filter(|s| !s.contains('/'))
        .map(str::to_string);
    let cause = stderr
        .lines()
        .map(str::trim)
        .find(|l| l.contains("toolchain file") || l.contains("specifies"))
        .unwrap_or("")
        .to_string();
    match quoted {
        Some(name) => format!(
            "the subject's toolchain `{name}` is not installed{}: run `{}` (RUSTUP_AUTO_INSTALL=0 keeps rustup from doing it), or {alternative}",
            if cause.is_empty() { String::new() } else { format!(" ({cause})") },
            install_hint(&name)
        ),
        None => format!("rustup could not resolve the subject's toolchain in {}: {}", dir.display(), stderr.lines().next().unwrap_or("").trim()),
    }
}

fn version_of(c: &mut Command) -> Option<String> {
    let o = c.output().ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

impl Toolchain {
    /// `cargo` of this toolchain, run in the subject's directory with none
    /// of the gate's toolchain variables.
    pub fn cargo(&self) -> Command {
        self.tool("cargo")
    }

    /// `rustc` of this toolchain, like [`Toolchain::cargo`].
    pub fn rustc(&self) -> Command {
        self.tool("rustc")
    }

    fn tool(&self, name: &str) -> Command {
        if self.name.is_empty() {
            return child(name, &self.dir);
        }
        let mut c = rustup(&self.dir);
        c.args(["run", &self.name, name]);
        c
    }

    /// How the build command reads for a user (`cargo +NAME`).
    pub fn cargo_words(&self) -> String {
        if self.name.is_empty() {
            "cargo".into()
        } else {
            format!("cargo +{}", self.name)
        }
    }

    /// Install the wasm target for this toolchain when it lacks it.
    /// `RUSTUP_AUTO_INSTALL=0` means the toolchain file alone will not do it.
    ///
    /// Two gates starting at once on a fresh machine (parallel tests, two CI
    /// jobs on one runner) used to run `rustup target add` side by side, and
    /// rustup's downloads and file moves collided: both failed. One
    /// machine-wide lock file serializes the check and the install; the
    /// second gate finds the target installed when it gets the lock.
    pub fn ensure_target(&self) -> Result<()> {
        if self.name.is_empty() {
            // No rustup: trust that the toolchain has the target; cargo
            // will say clearly if it does not.
            return Ok(());
        }
        let installed = || -> Option<bool> {
            let o = rustup(&self.dir)
                .args(["target", "list", "--installed", "--toolchain", &self.name])
                .output()
                .ok()?;
            o.status.success().then(|| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|l| l.trim() == TARGET)
            })
        };
        match installed() {
            None | Some(true) => return Ok(()),
            Some(false) => {}
        }
        let _lock = crate::util::lock_exclusive(
            &std::env::temp_dir().join("xtask-rustup-target-add.lock"),
        )?;
        if installed() == Some(true) {
            return Ok(());
        }
        eprintln!("budget: the {TARGET} target is missing from {}; installing it with `rustup target add --toolchain {} {TARGET}`", self.name, self.name);
        let status = rustup(&self.dir)
            .args(["target", "add", "--toolchain", &self.name, TARGET])
            .status()
            .context("running rustup")?;
        if !status.success() {
            bail!("could not install the {TARGET} target; run `rustup target add --toolchain {} {TARGET}` and retry", self.name);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rustups_active_line() {
        assert_eq!(
            parse_active(
                "1.95.0-x86_64-unknown-linux-gnu (overridden by '/w/rust-toolchain.toml')\n"
            ),
            Some((
                "1.95.0-x86_64-unknown-linux-gnu".into(),
                "overridden by '/w/rust-toolchain.toml'".into()
            ))
        );
        assert_eq!(
            parse_active("stable-x86_64-unknown-linux-gnu\n").unwrap().1,
            "rustup's active toolchain"
        );
        assert_eq!(parse_active("\n"), None);
    }

    #[test]
    fn a_missing_pin_names_the_install_command() {
        let stderr = "error: override toolchain '1.80.0-x86_64-unknown-linux-gnu' is not installed\n\nCaused by:\n    the toolchain file at '/tmp/tc/rust-toolchain.toml' specifies an uninstalled toolchain\n";
        let m = not_installed_message(
            stderr,
            Path::new("/tmp/tc"),
            "set `toolchain` in [subject] of budgets.toml",
        );
        assert!(
            m.contains("`1.80.0-x86_64-unknown-linux-gnu` is not installed"),
            "{m}"
        );
        assert!(m.contains("rustup toolchain install 1.80.0-x86_64-unknown-linux-gnu --profile minimal --target wasm32-unknown-unknown"), "{m}");
        assert!(m.contains("/tmp/tc/rust-toolchain.toml"), "{m}");
    }
}
