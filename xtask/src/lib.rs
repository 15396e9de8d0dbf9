//! The wasm budget gate as a library: one module per pipeline stage, so the
//! binary (`main.rs`) is glue and tests reach every stage directly.

pub mod artifacts;
pub mod attribute;
pub mod bindgen;
pub mod browser;
pub mod budget;
pub mod build;
pub mod calibrate;
pub mod config;
pub mod gate;
pub mod ledger;
pub mod measure;
pub mod optimize;
pub mod report;
pub mod server;
pub mod size;
pub mod stats;
pub mod summary;
pub mod tomlspan;
pub mod util;
pub mod wasmfile;
#[cfg(test)]
mod tests;

