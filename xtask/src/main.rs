//! `cargo xtask`: the build-size and performance gate for browser wasm.
//!
//! `cargo xtask budget` builds the subject crate in every profile, optimizes
//! it with binaryen, measures raw/gzip/brotli size, attributes the bytes,
//! measures latency and heap histograms in headless Chromium, checks every
//! figure against `budgets.toml` and writes reports under `reports/`.
//!
//! Subcommands:
//!   budget     the whole pipeline (exit 0 pass/warn, 1 fail, 2 could not run)
//!   size       the size half only (build, optimize, size, attribute, gate)
//!   attribute  size attribution of any wasm file, optionally diffed
//!   merge      merge shard summaries and gate the union
//!   calibrate  A/A false-regression and injected-slowdown detection rates
//!   aa         the A/A benchmark: N whole `budget --against HEAD --fresh` runs
//!   bisect     find the commit that regressed one metric (live A/B per step)
//!
//! This is exactly what a team's own `xtask` writes to use the gate as a
//! library: the argument parsing and dispatch live in `wasm_budget_gate::cli`.

fn main() -> std::process::ExitCode {
    wasm_budget_gate::main()
}
