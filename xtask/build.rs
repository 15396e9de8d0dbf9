//! Records the version of the gate's measuring code (`XTASK_MEASURE_VERSION`):
//! a hash of the sources that decide what a measured figure is (the harness
//! page and built-ins, the browser drivers, the schedule and reduction, the
//! statistics), so a key's identity changes when any of them does and an
//! earlier figure is never reused across such a change.
//!
//! Records the binaryen version the `wasm-opt` crate wraps (crate 0.116.x is
//! binaryen version_116), read from the lockfile of the workspace this
//! crate is built in, so the optimize cache key and the environment
//! fingerprint change when binaryen does.
//!
//! The lockfile is the first `Cargo.lock` above this crate that lists
//! `wasm-opt`: the gate's own; a team's, when the gate is copied into its
//! workspace at any depth; the gate checkout's, as a path or git dependency
//! (the binaryen major is fixed by the `wasm-opt = "0.116"` requirement
//! either way; only the crate's patch release could differ from what the
//! team's lockfile resolved). Without one, the requirement is recorded.
/// What decides a measured figure, relative to this crate: directories
/// (every file in them, recursively) and files.
const MEASURING: &[&str] = &[
    "harness",
    "src/measure",
    "src/browser",
    "src/stats",
    "src/engines.rs",
    "src/server.rs",
    "src/builtin.rs",
];

fn main() {
    let dir = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    measure_version(&dir);
    // Only the lockfile found is watched: a path that does not exist would
    // make cargo rerun this script (and rebuild the gate) on every build.
    println!("cargo:rerun-if-changed=build.rs");
    for lock in dir.ancestors().skip(1).map(|d| d.join("Cargo.lock")) {
        if let Some(v) = wasm_opt_version(&std::fs::read_to_string(&lock).unwrap_or_default()) {
            println!("cargo:rerun-if-changed={}", lock.display());
            let major = v.split('.').nth(1).unwrap_or("?").to_string();
            println!("cargo:rustc-env=XTASK_BINARYEN_VERSION=binaryen version_{major} (wasm-opt crate {v})");
            return;
        }
    }
    println!("cargo:rustc-env=XTASK_BINARYEN_VERSION=binaryen version_116 (wasm-opt crate 0.116, no lockfile found)");
}

/// Hash every file of [`MEASURING`] (name and bytes, in sorted order) into
/// `XTASK_MEASURE_VERSION`. std's hasher is deterministic for one
/// toolchain, which the repository pins; a toolchain change rebuilds the
/// gate and so may change the version, which only costs a fresh measurement.
fn measure_version(dir: &std::path::Path) {
    use std::hash::{Hash, Hasher};
    let mut files = Vec::new();
    let mut stack: Vec<std::path::PathBuf> = MEASURING.iter().map(|p| dir.join(p)).collect();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).expect("readable source directory") {
                stack.push(e.expect("readable directory entry").path());
            }
        } else {
            files.push(p);
        }
    }
    files.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in &files {
        f.strip_prefix(dir).unwrap_or(f).hash(&mut h);
        std::fs::read(f).unwrap_or_default().hash(&mut h);
    }
    for p in MEASURING {
        println!("cargo:rerun-if-changed={p}");
    }
    println!("cargo:rustc-env=XTASK_MEASURE_VERSION={:016x}", h.finish());
}

/// The `wasm-opt` package's version in a lockfile's text.
fn wasm_opt_version(lock: &str) -> Option<String> {
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l.trim() == "name = \"wasm-opt\"" {
            return lines
                .next()
                .and_then(|v| v.trim().strip_prefix("version = "))
                .map(|v| v.trim_matches('"').to_string());
        }
    }
    None
}
