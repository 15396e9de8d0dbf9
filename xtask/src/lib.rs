//! The wasm budget gate as a library: one module per pipeline stage, so the
//! binary (`main.rs`) is glue and tests reach every stage directly.
//!
//! Layers (a module uses only modules on its own line or below; no cycles):
//!
//! ```text
//! cli                                          argument parsing and dispatch (`main`)
//! cmd::{init, budget, merge, attribute, calibrate, aa, bisect, advise}   commands; cmd::args parses
//! subject  baseline  gating  fingerprint  reuse   pipeline steps shared by commands
//! engines                                      the measurer per environment's browser
//! browser  report                             the page measurer and its engine drivers (CDP, WebDriver BiDi, WebDriver); exporters
//! measure  ledger  artifacts                   scheduling and statistics of runs; history
//! summary  attribute  bindgen  build  bisect  advise   records; size analysis; tools; a bisect's search; size advice
//! gate  accept  config                         pure verdicts; accepted regressions; validated budgets.toml
//! toolchain  cargoconf  closure                the subject's rustup toolchain, cargo config, dependency closure
//! stats  size  optimize  server                numbers; sizes; binaryen; harness server
//! api  exercise  suite                         a built crate's exports and tests, and the built-ins wired to them
//! util  wasmfile  tomlspan  builtin            helpers with no crate dependencies; built-in scenarios
//! ```

// `!(x > 0.0)` is how this crate rejects NaN along with the out-of-range
// values of a config number or a statistic; `x <= 0.0` would let NaN pass.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod accept;
pub mod advise;
pub mod api;
pub mod artifacts;
pub mod attribute;
pub mod baseline;
pub mod bindgen;
pub mod bisect;
pub mod browser;
pub mod build;
pub mod builtin;
pub mod cargoconf;
pub mod cli;
pub mod closure;
pub mod cmd;
pub mod config;
pub mod engines;
pub mod exercise;
pub mod fingerprint;
pub mod gate;
pub mod gating;
pub mod ledger;
pub mod measure;
pub mod optimize;
pub mod report;
pub mod reuse;
pub mod server;
pub mod size;
pub mod stats;
pub mod subject;
pub mod suite;
pub mod summary;
#[cfg(test)]
mod tests;
pub mod tomlspan;
pub mod toolchain;
pub mod util;
pub mod wasmfile;

pub use cli::main;
