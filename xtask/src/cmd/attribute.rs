//! `cargo xtask attribute FILE.wasm [--diff OLD.wasm] [--twin NAMED.wasm]
//! [--top N] [--out DIR]`: size attribution of any wasm file.

use super::args::{Arg, Args};
use crate::attribute::{analyze, diff};
use crate::report::attribution::{files, markdown, write};
use anyhow::{anyhow, Result};
use std::path::PathBuf;

/// `cargo xtask attribute FILE.wasm [--diff OLD.wasm] [--twin NAMED.wasm] [--top N] [--out DIR]`
pub fn cli(args: &[String]) -> Result<u8> {
    let mut file = None;
    let mut old = None;
    let mut twin = None;
    let mut top = 20usize;
    let mut out = None;
    let mut args = Args::new("attribute", args);
    while let Some(a) = args.next_arg() {
        match a {
            Arg::Flag("--diff") => old = Some(PathBuf::from(args.value("--diff")?)),
            Arg::Flag("--twin") => twin = Some(PathBuf::from(args.value("--twin")?)),
            Arg::Flag("--top") => top = args.parsed("--top", "a number")?,
            Arg::Flag("--out") => out = Some(PathBuf::from(args.value("--out")?)),
            Arg::Flag(f) => return Err(args.unknown(f)),
            Arg::Positional(p) if file.is_none() => file = Some(PathBuf::from(p)),
            Arg::Positional(p) => return Err(args.unexpected(p)),
        }
    }
    let file = file.ok_or_else(|| anyhow!("usage: cargo xtask attribute FILE.wasm [--diff OLD.wasm] [--twin NAMED.wasm] [--top N] [--out DIR]"))?;
    let mut report = analyze(&file, twin.as_deref())?;
    if let Some(o) = &old {
        let old_r = analyze(o, None)?;
        report.diff = Some(diff(&old_r, &report, &o.display().to_string()));
    }
    print!("{}", markdown(&report, top));
    if let Some(dir) = out {
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("module");
        write(&report, &dir, stem)?;
        for f in files(&dir, stem) {
            eprintln!("wrote {}", f.display());
        }
    }
    Ok(0)
}
