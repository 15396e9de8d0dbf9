//! Attribution reports: markdown (also what `cargo xtask attribute`
//! prints), JSON, and the HTML treemap page, for one analyzed module.

use crate::attribute::{signed_kib, Report};
use crate::util::{kib, write_atomic};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// Write `<stem>.json`, `<stem>.md` and `<stem>.html` under `out_dir`.
pub fn write(report: &Report, out_dir: &Path, stem: &str) -> Result<()> {
    let [json, md, html] = files(out_dir, stem);
    write_atomic(&json, serde_json::to_string_pretty(report)?.as_bytes())?;
    write_atomic(&md, markdown(report, 20).as_bytes())?;
    write_atomic(&html, super::html::treemap_page(report).as_bytes())?;
    Ok(())
}

/// Where [`write`] puts a profile's attribution: JSON, markdown, treemap.
pub fn files(out_dir: &Path, stem: &str) -> [PathBuf; 3] {
    ["json", "md", "html"].map(|ext| out_dir.join(format!("{stem}.{ext}")))
}

/// Markdown: sections, top N items, crates, monomorphizations, diff.
///
/// Long by design: the attribution report's sections in reading order, each a short table.
pub fn markdown(r: &Report, top: usize) -> String {
    let mut s = String::new();
    let pct = |b: u64| {
        if r.file_bytes == 0 {
            0.0
        } else {
            b as f64 * 100.0 / r.file_bytes as f64
        }
    };
    s.push_str(&format!("# Size attribution: `{}`\n\n", r.file));
    s.push_str(&format!(
        "{} bytes ({}), {} without custom sections. Mode: {}. Attributed: {} bytes (conserved).\n",
        r.file_bytes,
        kib(r.file_bytes),
        kib(r.without_custom_bytes),
        r.mode,
        r.attributed_bytes
    ));
    if !r.note.is_empty() {
        s.push_str(&format!("\nNote: {}\n", r.note));
    }
    s.push_str("\n## Sections\n\n| section | bytes | % |\n|---|---:|---:|\n");
    for sec in &r.sections {
        s.push_str(&format!(
            "| {} | {} | {:.1} |\n",
            sec.name,
            sec.bytes,
            pct(sec.bytes)
        ));
    }
    s.push_str(&format!("\n## Top {top} items (shallow)\n\n| shallow | retained | % | kind | item |\n|---:|---:|---:|---|---|\n"));
    for it in r.items.iter().take(top) {
        s.push_str(&format!(
            "| {} | {} | {:.1} | {} | `{}` |\n",
            it.shallow_bytes,
            it.retained_bytes,
            pct(it.shallow_bytes),
            it.kind,
            it.name.replace('|', "\\|")
        ));
    }
    s.push_str("\n## Crates (function bytes)\n\n| crate | bytes | functions |\n|---|---:|---:|\n");
    for c in &r.crates {
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            c.krate, c.bytes, c.functions
        ));
    }
    if !r.monomorphizations.is_empty() {
        s.push_str("\n## Monomorphizations (generic functions with several instantiations)\n\n| generic | instantiations | bytes |\n|---|---:|---:|\n");
        for m in r.monomorphizations.iter().take(top) {
            s.push_str(&format!(
                "| `{}` | {} | {} |\n",
                m.generic.replace('|', "\\|"),
                m.instantiations,
                m.bytes
            ));
        }
    }
    if !r.paths.is_empty() {
        s.push_str("\n## What keeps the largest items alive\n\n");
        for (k, p) in &r.paths {
            s.push_str(&format!(
                "- `{}`: {}\n",
                k.replace('|', "\\|"),
                p.iter()
                    .map(|x| format!("`{x}`"))
                    .collect::<Vec<_>>()
                    .join(" <- ")
            ));
        }
    }
    if let Some(d) = &r.diff {
        s.push_str(&format!(
            "\n## Diff against `{}`: {} ({} -> {} bytes)\n\n| crate | old | new | delta | change |\n|---|---:|---:|---:|---|\n",
            d.against,
            signed_kib(d.new_bytes as i64 - d.old_bytes as i64),
            d.old_bytes,
            d.new_bytes
        ));
        for row in &d.crates {
            s.push_str(&format!(
                "| {} | {} | {} | {:+} | {} |\n",
                row.name, row.old_bytes, row.new_bytes, row.delta, row.change
            ));
        }
        s.push_str("\n| item | old | new | delta | change |\n|---|---:|---:|---:|---|\n");
        for row in d.items.iter().take(top) {
            s.push_str(&format!(
                "| `{}` | {} | {} | {:+} | {} |\n",
                row.name.replace('|', "\\|"),
                row.old_bytes,
                row.new_bytes,
                row.delta,
                row.change
            ));
        }
    }
    s
}
