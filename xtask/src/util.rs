//! Small shared helpers: process capture, atomic writes, content hashing,
//! the project root. Kept here so no two stages grow their own copy.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

/// Every file named one of `names` in the directories of `PATH`, in
/// `PATH` order (a name's matches before the next name's).
pub fn on_path(names: &[&str]) -> Vec<PathBuf> {
    let Some(path) = std::env::var_os("PATH") else {
        return vec![];
    };
    let dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    names
        .iter()
        .flat_map(|n| dirs.iter().map(move |d| d.join(n)))
        .filter(|p| p.is_file())
        .collect()
}

/// Text made safe for HTML content and attribute values.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Output of a finished child process.
pub struct Captured {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Run a command to completion, capturing both streams.
pub fn run_captured(cmd: &mut Command) -> Result<Captured> {
    let out = cmd.output()?;
    Ok(Captured {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// The directory of a budgets file, absolute: the subject's root. A bare
/// `budgets.toml` has the parent `""`, which no process can run in (git
/// would fail with "No such file or directory").
pub fn subject_dir(budgets: &Path) -> PathBuf {
    std::path::absolute(budgets)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The `budgets.toml` a command uses when `--budgets` is not given: the
/// first one in the current directory or above it (`cargo xtask` keeps the
/// directory it was run from). Never the gate's own checkout: used as a
/// library or a git dependency, that is not the project being gated.
pub fn find_budgets() -> Result<PathBuf> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    cwd.ancestors().map(|d| d.join("budgets.toml")).find(|p| p.is_file()).with_context(|| {
        format!("no budgets.toml in {} or any directory above it: run from your project, or pass --budgets FILE", cwd.display())
    })
}

/// Wait for an exclusive OS file lock on `path` (created if missing). The
/// lock holds while the returned file lives; the kernel drops it when the
/// process dies, so nothing is ever stale. For machine-wide one-at-a-time
/// steps (installing a target or a tool) that may wait as long as they take.
pub fn lock_exclusive(path: &Path) -> Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.lock()
        .with_context(|| format!("locking {}", path.display()))?;
    Ok(file)
}

/// The user-wide cache of tools the gate installs (the wasm-bindgen CLI),
/// shared by every project it guards; each tool is keyed by its version
/// inside. `$XDG_CACHE_HOME/wasm-budget-gate`, else
/// `~/.cache/wasm-budget-gate`, else `$CARGO_HOME/wasm-budget-gate`, else
/// the system temp directory's.
pub fn tool_cache() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("XDG_CACHE_HOME")
        .or_else(|| env("HOME").map(|h| h.join(".cache")))
        .or_else(|| env("CARGO_HOME"))
        .unwrap_or_else(std::env::temp_dir)
        .join("wasm-budget-gate")
}

/// Write a file atomically: a temp file in the same directory, fsync, rename.
/// A crash at any point leaves either the old or the new content, never a
/// torn file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp.{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    {
        let mut f =
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// 128-bit FNV-1a of a byte string, as hex. Used only as a cache key (the
/// optimized output is reused when input bytes and settings hash alike), so
/// a non-cryptographic hash is enough and saves a dependency.
pub fn content_hash(parts: &[&[u8]]) -> String {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut h = OFFSET;
    for part in parts {
        for b in part.iter() {
            h ^= *b as u128;
            h = h.wrapping_mul(PRIME);
        }
        // Separate parts so ("ab","c") and ("a","bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(PRIME);
    }
    format!("{h:032x}")
}

/// `git ARGS` in `dir`: its trimmed stdout, or an error with its stderr.
pub fn git(args: &[&str], dir: &Path) -> Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .context("running git")?;
    if !out.status.success() {
        anyhow::bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The tracked files that differ from HEAD (`git status --porcelain`
/// lines; empty for a clean tree).
pub fn git_changes(root: &Path) -> Result<String> {
    git(&["status", "--porcelain", "--untracked-files=no"], root)
}

/// The current git commit of the project, or "unknown" outside a checkout.
pub fn git_commit(root: &Path) -> String {
    match git(&["rev-parse", "HEAD"], root) {
        Ok(mut c) => {
            if git_changes(root).is_ok_and(|s| !s.is_empty()) {
                c.push_str("-dirty");
            }
            c
        }
        Err(_) => "unknown".into(),
    }
}

/// A commit hash (or any content hash) shortened for reports: its first 12
/// characters.
pub fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

/// Format a byte count in KiB with one decimal.
pub fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Seconds since the Unix epoch as `YYYY-MM-DD HH:MM UTC` (the civil
/// calendar from a day count, Howard Hinnant's `civil_from_days`).
pub fn utc(unix_s: u64) -> String {
    let days = (unix_s / 86_400) as i64;
    let secs = unix_s % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_budgets_file_has_an_absolute_subject_dir() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(subject_dir(Path::new("budgets.toml")), cwd);
        assert_eq!(
            subject_dir(Path::new("/x/y/budgets.toml")),
            Path::new("/x/y")
        );
    }

    #[test]
    fn utc_reads_the_civil_calendar() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        // `date -u -d @1796623796` prints Mon Dec  7 06:09:56 UTC 2026.
        assert_eq!(utc(1_796_623_796), "2026-12-07 06:09 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn hash_separates_parts() {
        assert_ne!(content_hash(&[b"ab", b"c"]), content_hash(&[b"a", b"bc"]));
        assert_eq!(content_hash(&[b"x"]), content_hash(&[b"x"]));
    }

    #[test]
    fn atomic_write_replaces() {
        let d = std::env::temp_dir().join(format!("xtask-atomic-{}", std::process::id()));
        let p = d.join("f.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
