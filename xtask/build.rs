//! Records the binaryen version the `wasm-opt` crate wraps (crate 0.116.x is
//! binaryen version_116), read from the workspace lockfile, so the optimize
//! cache key and the environment fingerprint change when binaryen does.
//! Copied into a team's workspace, that is the team's lockfile; as a path
//! or git dependency, it is the gate's own (the binaryen major is fixed by
//! the `wasm-opt = "0.116"` requirement either way; only the crate's patch
//! release could differ from what the team's lockfile resolved).
fn main() {
    let lock = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    let mut version = "unknown".to_string();
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l.trim() == "name = \"wasm-opt\"" {
            if let Some(v) = lines.next().and_then(|v| v.trim().strip_prefix("version = ")) {
                let v = v.trim_matches('"');
                let major = v.split('.').nth(1).unwrap_or("?");
                version = format!("binaryen version_{major} (wasm-opt crate {v})");
            }
        }
    }
    println!("cargo:rustc-env=XTASK_BINARYEN_VERSION={version}");
}
