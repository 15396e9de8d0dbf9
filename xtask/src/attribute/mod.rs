//! Stage 4, attribute: where the bytes of a module go.
//!
//! - Items (functions, data segments, tables, sections) with shallow and
//!   retained (dominator-tree) sizes, from twiggy's IR and analyses
//!   (`twiggy-parser` builds the IR, `twiggy-ir` computes dominators and
//!   retained sizes). Paths that keep an item alive come from the IR's
//!   predecessor edges.
//! - Crates: function bytes rolled up by crate (rule in [`crate_of`]).
//! - Monomorphization bloat: generic functions with many instantiations.
//! - Sections (from wasmparser, a current parser): code, data, names,
//!   producers, DWARF... and the size without custom sections.
//! - Conservation: item sizes add up to the file size exactly; whatever the
//!   parser leaves unassigned is an explicit `(unattributed)` item.
//!
//! Stripped profiles have no names, so they are attributed through their
//! named twin (same build, same passes, names kept) after checking that
//! every function body has the same size in both.
//!
//! twiggy's parser is old: when it fails (or panics) on a module, attribution
//! degrades to section- and function-level sizes from wasmparser and says so.

mod diff;
mod naming;
mod twiggy;

pub use diff::diff;
pub(crate) use diff::signature;
pub use naming::{crate_of, demangle, module_of, normalize_name};

use crate::wasmfile::{
    self, data_segments, entry_sizes, export_names, imported_functions, section_names, NameKind,
    Section,
};
use anyhow::{anyhow, Context, Result};
use naming::generic_of;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use twiggy::twiggy_items;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub name: String,
    /// `function`, `data`, `section`, `debug`, `misc`.
    pub kind: String,
    pub shallow_bytes: u64,
    /// Bytes this item keeps alive (itself + what it dominates); equal to
    /// shallow in degraded mode.
    pub retained_bytes: u64,
    /// Crate of a function (empty for other kinds).
    pub krate: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrateRow {
    pub krate: String,
    pub bytes: u64,
    pub functions: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mono {
    pub generic: String,
    pub instantiations: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffRow {
    pub name: String,
    pub old_bytes: u64,
    pub new_bytes: u64,
    pub delta: i64,
    /// grew, shrank, appeared, vanished.
    pub change: String,
}

/// The attribution of one module, as written to JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub file: String,
    /// File the names came from (the named twin for stripped profiles).
    pub names_from: String,
    pub file_bytes: u64,
    pub without_custom_bytes: u64,
    /// `twiggy` (full IR, retained sizes) or `degraded` (see `note`).
    pub mode: String,
    pub note: String,
    /// Sum of item shallow sizes; equals `file_bytes` (conservation).
    pub attributed_bytes: u64,
    pub sections: Vec<Section>,
    /// Every item, largest shallow first.
    pub items: Vec<Item>,
    pub crates: Vec<CrateRow>,
    pub monomorphizations: Vec<Mono>,
    /// For the top items by retained size: one path from a root that keeps it alive.
    pub paths: BTreeMap<String, Vec<String>>,
    /// Functions whose body size differs between the shipped file and the
    /// named twin (should be empty).
    pub twin_mismatches: Vec<String>,
    pub diff: Option<Diff>,
    /// Data segment name -> a MinHash signature of its bytes, so a diff pairs
    /// a segment the linker renumbered with its old self by content. Not
    /// written: only the diff of two freshly analyzed modules needs it.
    #[serde(skip)]
    pub data_signatures: BTreeMap<String, Vec<u64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    pub against: String,
    pub old_bytes: u64,
    pub new_bytes: u64,
    pub crates: Vec<DiffRow>,
    pub items: Vec<DiffRow>,
}

/// Result of attributing a profile: the report and the files written.
#[derive(Debug, Clone)]
pub struct Attribution {
    pub report: Report,
    pub files: Vec<PathBuf>,
}

impl Attribution {
    /// "+12.4 KiB: serde_json +9.1 KiB, ..." style contributors vs baseline.
    pub fn top_contributors(&self, n: usize) -> Vec<String> {
        let Some(d) = &self.report.diff else {
            return vec![];
        };
        let mut rows: Vec<&DiffRow> = d.crates.iter().filter(|r| r.delta != 0).collect();
        rows.sort_by_key(|r| -r.delta.abs());
        let mut out = vec![format!(
            "{} total",
            signed_kib(d.new_bytes as i64 - d.old_bytes as i64)
        )];
        out.extend(
            rows.into_iter()
                .take(n)
                .map(|r| format!("{} {}", r.name, signed_kib(r.delta))),
        );
        out
    }
}

pub fn signed_kib(delta: i64) -> String {
    if delta.abs() < 1024 {
        return format!("{delta:+} B");
    }
    format!(
        "{}{:.1} KiB",
        if delta >= 0 { "+" } else { "-" },
        delta.unsigned_abs() as f64 / 1024.0
    )
}

/// Attribute `file` (the shipped artifact), taking names from `named`
/// when given (stripped profiles).
///
/// Long by design: one pass over the module that fills every table of the report (sections, items, crates, monomorphizations, data) from the same parsed items, so no table is computed from a second reading.
pub fn analyze(file: &Path, named: Option<&Path>) -> Result<Report> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let what = file.display().to_string();
    let sections = wasmfile::sections(&bytes, &what)?;
    let without_custom = wasmfile::without_custom_sections(&bytes, &what)?.len() as u64;
    let file_bytes = bytes.len() as u64;

    // Names: from the file itself when it has them, else from the twin.
    let has_names = sections.iter().any(|s| s.name == "custom:name");
    let (names_from, name_source, twin_mismatches) = match named.filter(|_| !has_names) {
        Some(n) => names_from_twin(file, &bytes, n)?,
        None => (file.to_path_buf(), bytes.clone(), Vec::new()),
    };

    // Shallow sizes always come from the shipped file: each function body
    // (wasmparser), every other section whole, and the code section's own
    // headers, so the items add up to the file exactly by construction.
    // twiggy supplies what needs its IR: retained sizes and paths, looked up
    // by function name in the name source.
    let fb = entry_sizes(&bytes).map_err(|e| anyhow!("{what}: {e}"))?;
    // No name section and no twin: the export names are the names there
    // are (a stripped wasm-bindgen module keeps every export's).
    let by_export = !has_names && names_from == file;
    let names = if by_export {
        export_names(&bytes)
    } else {
        section_names(&name_source, NameKind::Function)
    };
    let first = imported_functions(&name_source);
    let code_names: Vec<String> = (0..fb.per_function.len())
        .map(|i| {
            names
                .get(&(first + i as u32))
                .map(|n| {
                    if by_export {
                        n.clone()
                    } else {
                        normalize_name(n)
                    }
                })
                .unwrap_or_else(|| format!("code[{i}]"))
        })
        .collect();
    let (segs, seg_signatures) = data_segments(&bytes, signature)?;
    let data_names: Vec<String> = {
        let dn = section_names(&name_source, NameKind::Data);
        (0..segs.len())
            .map(|i| {
                dn.get(&(i as u32))
                    .map(|n| format!("data segment {n}"))
                    .unwrap_or_else(|| format!("data[{i}]"))
            })
            .collect()
    };
    let (retained, paths, mode, mut note) = match twiggy_items(&name_source, &code_names, &data_names) {
        Ok((r, paths)) if r.len() == fb.per_function.len() => (r, paths, "twiggy", String::new()),
        Ok((r, _)) => (
            Vec::new(),
            BTreeMap::new(),
            "degraded",
            format!("twiggy saw {} functions where wasmparser sees {}; attribution degraded to section- and function-level sizes", r.len(), fb.per_function.len()),
        ),
        Err(e) => (
            Vec::new(),
            BTreeMap::new(),
            "degraded",
            format!("{e}; attribution degraded to section- and function-level sizes from wasmparser (no retained sizes or paths)"),
        ),
    };
    let mut items = Vec::new();
    for (i, b) in fb.per_function.iter().enumerate() {
        let name = code_names[i].clone();
        let retained_bytes = retained.get(i).copied().unwrap_or(*b).max(*b);
        items.push(Item {
            krate: crate_of(&name),
            name,
            kind: "function".into(),
            shallow_bytes: *b,
            retained_bytes,
        });
    }
    if fb.overhead > 0 {
        items.push(Item {
            name: "function and code section headers and counts".into(),
            kind: "section".into(),
            shallow_bytes: fb.overhead,
            retained_bytes: fb.overhead,
            krate: String::new(),
        });
    }
    for sec in &sections {
        let (name, b, kind) = if sec.name == "code" || sec.name == "function" {
            continue;
        } else if sec.name.starts_with("custom:.debug") {
            (format!("section {}", sec.name), sec.bytes, "debug")
        } else if sec.name == "data" {
            let overhead = sec.bytes - segs.iter().sum::<u64>();
            for (i, b) in segs.iter().enumerate() {
                let name = data_names
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| format!("data[{i}]"));
                items.push(Item {
                    name,
                    kind: "data".into(),
                    shallow_bytes: *b,
                    retained_bytes: *b,
                    krate: String::new(),
                });
            }
            (
                "data section header and count".to_string(),
                overhead,
                "section",
            )
        } else {
            (format!("section {}", sec.name), sec.bytes, "section")
        };
        items.push(Item {
            name,
            kind: kind.into(),
            shallow_bytes: b,
            retained_bytes: b,
            krate: String::new(),
        });
    }
    // The 8-byte preamble (magic + version).
    items.push(Item {
        name: "module header (magic, version)".into(),
        kind: "section".into(),
        shallow_bytes: 8,
        retained_bytes: 8,
        krate: String::new(),
    });
    if names_from != file {
        note.push_str(if note.is_empty() { "" } else { "; " });
        note.push_str(&format!(
            "names from the twin {} (every function body matches the shipped file in size)",
            n_display(&names_from)
        ));
    } else if !has_names {
        note.push_str(if note.is_empty() { "" } else { "; " });
        let exported = (0..fb.per_function.len())
            .filter(|i| names.contains_key(&(first + *i as u32)))
            .count();
        note.push_str(&format!(
            "the module has no name section and no matching twin: {exported} of {} functions are named by their export names, the rest by index",
            fb.per_function.len()
        ));
    }
    if !twin_mismatches.is_empty() {
        note.push_str(&format!(
            "; the named twin does not match the shipped file ({} differences): names not used",
            twin_mismatches.len()
        ));
    }
    items.retain(|i| i.shallow_bytes > 0 || i.kind == "function");
    items.sort_by(|a, b| {
        b.shallow_bytes
            .cmp(&a.shallow_bytes)
            .then(a.name.cmp(&b.name))
    });
    let attributed_bytes: u64 = items.iter().map(|i| i.shallow_bytes).sum();
    if attributed_bytes != file_bytes {
        return Err(anyhow!(
            "attribution of {what} does not conserve bytes: {attributed_bytes} != {file_bytes}"
        ));
    }

    let (crates, monomorphizations) = rollups(&items);

    Ok(Report {
        schema_version: SCHEMA_VERSION,
        file: what,
        names_from: n_display(&names_from),
        file_bytes,
        without_custom_bytes: without_custom,
        mode: mode.into(),
        note,
        attributed_bytes,
        sections,
        items,
        crates,
        monomorphizations,
        paths,
        twin_mismatches,
        diff: None,
        data_signatures: data_names.iter().cloned().zip(seg_signatures).collect(),
    })
}

/// The names of a module without a name section, from its named twin
/// (same build, names kept), used only when every function body has the
/// same size in both: where the names come from, the bytes that carry
/// them, and every mismatch found.
fn names_from_twin(
    file: &Path,
    bytes: &[u8],
    twin_path: &Path,
) -> Result<(PathBuf, Vec<u8>, Vec<String>)> {
    let twin =
        std::fs::read(twin_path).with_context(|| format!("reading {}", twin_path.display()))?;
    let (a, b) = (entry_sizes(bytes)?.bodies, entry_sizes(&twin)?.bodies);
    let mut mismatches = Vec::new();
    if a.len() != b.len() {
        mismatches.push(format!(
            "function count differs: shipped {} vs twin {}",
            a.len(),
            b.len()
        ));
    }
    let tn = section_names(&twin, NameKind::Function);
    let first = imported_functions(&twin);
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        if x != y {
            let nm = tn
                .get(&(first + i as u32))
                .map(|s| normalize_name(s))
                .unwrap_or(format!("code[{i}]"));
            mismatches.push(format!("{nm}: shipped {x} bytes vs twin {y} bytes"));
        }
    }
    Ok(if mismatches.is_empty() {
        (twin_path.to_path_buf(), twin, mismatches)
    } else {
        (file.to_path_buf(), bytes.to_vec(), mismatches)
    })
}

/// Function bytes rolled up by crate, and generics with more than one
/// instantiation, each largest first. A generic function is known by its
/// type arguments (`Vec<..>::push`), or, under the legacy symbol mangling
/// that drops them (`mono_fixture::mix`, once per instance), by one path
/// naming several functions (a closure's path excepted: two closures of
/// one function share it).
fn rollups(items: &[Item]) -> (Vec<CrateRow>, Vec<Mono>) {
    let mut crates: BTreeMap<String, CrateRow> = BTreeMap::new();
    let mut monos: BTreeMap<String, Mono> = BTreeMap::new();
    let mut paths: BTreeMap<&str, usize> = BTreeMap::new();
    for it in items.iter().filter(|i| i.kind == "function") {
        *paths.entry(it.name.as_str()).or_default() += 1;
    }
    for it in items.iter().filter(|i| i.kind == "function") {
        let c = crates.entry(it.krate.clone()).or_insert(CrateRow {
            krate: it.krate.clone(),
            bytes: 0,
            functions: 0,
        });
        c.bytes += it.shallow_bytes;
        c.functions += 1;
        let generic = generic_of(&it.name).or_else(|| {
            // Distinct closures of one function share a path too.
            (paths[it.name.as_str()] > 1
                && !it.name.starts_with('(')
                && !it.name.ends_with("{{closure}}"))
            .then(|| it.name.clone())
        });
        if let Some(g) = generic {
            let m = monos.entry(g.clone()).or_insert(Mono {
                generic: g,
                instantiations: 0,
                bytes: 0,
            });
            m.instantiations += 1;
            m.bytes += it.shallow_bytes;
        }
    }
    let mut crates: Vec<CrateRow> = crates.into_values().collect();
    crates.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.krate.cmp(&b.krate)));
    let mut monomorphizations: Vec<Mono> = monos
        .into_values()
        .filter(|m| m.instantiations > 1)
        .collect();
    monomorphizations.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.generic.cmp(&b.generic)));
    (crates, monomorphizations)
}

fn n_display(p: &Path) -> String {
    p.display().to_string()
}

/// Attribution for one profile inside `size`/`budget`: analyze the shipped
/// artifact through its twin, and diff it against the base's shipped
/// artifact named through the base's own twin (like with like).
pub fn for_profile(shipped: &Path, named: &Path, base: Option<(&Path, &Path)>) -> Result<Report> {
    let mut report = analyze(shipped, Some(named))?;
    if let Some((b_shipped, b_named)) = base {
        let old = analyze(b_shipped, Some(b_named))?;
        report.diff = Some(diff(&old, &report, &b_shipped.display().to_string()));
    }
    Ok(report)
}
