//! A small raw-export crate in a git repository of its own, for the tests
//! that need a history (bisect, reuse): the crate, and a commit per change.
//! `work` does `ITERS` rounds of integer work per call (a timing change is
//! a new `ITERS`); `checksum` reads a table of `TABLE_LEN` bytes (a size
//! change is a new `TABLE_LEN`); NOTES.md changes nothing that ships.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const LIB: &str = r#"const ITERS: u32 = 2000;
const TABLE_LEN: usize = 64;

const fn table<const N: usize>() -> [u8; N] {
    let mut t = [0u8; N];
    let mut x: u32 = 12345;
    let mut i = 0;
    while i < N {
        x = x.wrapping_mul(1103515245).wrapping_add(12345);
        t[i] = (x >> 24) as u8;
        i += 1;
    }
    t
}

static TABLE: [u8; TABLE_LEN] = table::<TABLE_LEN>();

#[no_mangle]
pub extern "C" fn work(n: u32) -> u32 {
    let mut x = n;
    for i in 0..ITERS {
        x = x.wrapping_mul(1664525).wrapping_add(i) ^ (x >> 13);
    }
    x
}

#[no_mangle]
pub extern "C" fn checksum(i: u32) -> u32 {
    TABLE[i as usize % TABLE_LEN] as u32
}
"#;

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Write the crate (package `name`) and a NOTES.md into `repo`, make it a
/// git repository and commit it as "c0: the subject"; its sha.
pub fn init_subject(repo: &Path, name: &str) -> String {
    std::fs::create_dir_all(repo.join("src")).unwrap();
    std::fs::write(
        repo.join("Cargo.toml"),
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n[workspace]\n"),
    )
    .unwrap();
    std::fs::write(repo.join("rust-toolchain.toml"), "[toolchain]\nchannel = \"1.95.0\"\ntargets = [\"wasm32-unknown-unknown\"]\nprofile = \"minimal\"\n").unwrap();
    std::fs::write(repo.join(".gitignore"), "target\n").unwrap();
    std::fs::write(repo.join("NOTES.md"), "# notes\n").unwrap();
    std::fs::write(repo.join("src/lib.rs"), LIB).unwrap();
    git(repo, &["init", "-q"]);
    for (k, v) in [
        ("user.email", "history@test"),
        ("user.name", "history test"),
    ] {
        git(repo, &["config", k, v]);
    }
    git(repo, &["add", "-A"]);
    commit(repo, "c0: the subject")
}

/// Commit everything that changed in `repo` with `msg`; the new sha.
pub fn commit(repo: &Path, msg: &str) -> String {
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-qm", msg]);
    git(repo, &["rev-parse", "HEAD"])
}

/// Replace `from` by `to` in `repo/file` (which must contain it).
pub fn edit(repo: &Path, file: &str, from: &str, to: &str) {
    let text = std::fs::read_to_string(repo.join(file)).unwrap();
    assert!(text.contains(from), "{file} has no `{from}`");
    std::fs::write(repo.join(file), text.replace(from, to)).unwrap();
}

/// `cargo xtask init` for the crate in `repo`, its configuration written to
/// `out`; the budgets file. A failed init fails the test, with its output.
pub fn init_gate(repo: &Path, out: &Path) -> PathBuf {
    let o = super::xtask_cmd()
        .args(["init", "--manifest"])
        .arg(repo.join("Cargo.toml"))
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "init: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    out.join("budgets.toml")
}

/// Edit init's budgets so CALL times `work` (the export a timing change
/// slows; init wires one export, `checksum`) over three seeds, not five,
/// to keep a test short.
pub fn time_work_over_three_seeds(budgets: &Path) {
    let text = std::fs::read_to_string(budgets)
        .unwrap()
        .replace("export = \"checksum\"", "export = \"work\"")
        .replace("seeds = [11, 29, 42, 73, 101]", "seeds = [11, 29, 42]");
    assert!(
        text.contains("call = { export = \"work\"") && text.contains("seeds = [11, 29, 42]\n"),
        "{text}"
    );
    std::fs::write(budgets, text).unwrap();
}
