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

use crate::wasmfile::{self, Section};
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
        let Some(d) = &self.report.diff else { return vec![] };
        let mut rows: Vec<&DiffRow> = d.crates.iter().filter(|r| r.delta != 0).collect();
        rows.sort_by_key(|r| -r.delta.abs());
        let mut out = vec![format!("{} total", signed_kib(d.new_bytes as i64 - d.old_bytes as i64))];
        out.extend(rows.into_iter().take(n).map(|r| format!("{} {}", r.name, signed_kib(r.delta))));
        out
    }
}

pub fn signed_kib(delta: i64) -> String {
    if delta.abs() < 1024 {
        return format!("{delta:+} B");
    }
    format!("{}{:.1} KiB", if delta >= 0 { "+" } else { "-" }, delta.unsigned_abs() as f64 / 1024.0)
}

/// The crate a demangled function name belongs to. The rule:
/// - a plain path `a::b::c` belongs to its first segment `a`;
/// - a trait impl `<T as Trait>::m` belongs to the crate of the self type
///   `T` (the code is `T`'s behaviour), e.g. `<alloc::vec::Vec<u8> as
///   core::ops::Drop>::drop` -> `alloc`; `<&T as ..>` and `<[T] as ..>` look
///   through the reference/slice;
/// - an inherent impl block `<impl a::X>` belongs to `a`;
/// - generic instantiations count toward the crate that defines the
///   generic, not the crate of the type arguments (the code is that crate's);
/// - a trait impl for a type without a crate (`<u32 as core::fmt::Display>`,
///   `<&T as ..>`) belongs to the trait's crate, which defines that impl;
/// - wasm-bindgen's runtime exports (`__wbindgen_malloc`) belong to
///   `wasm_bindgen`; the C memory functions to `compiler_builtins`;
/// - code generated around the crates' functions is a named group, never a
///   crate: `(wasm-bindgen shims)` (multivalue/externref shims, `__wbg_*`
///   exports), `(binaryen merged functions)` (`byn$mgfn*`);
/// - other names without a path (exports by their export name) go to
///   `(no crate)`.
pub fn crate_of(name: &str) -> String {
    if name.ends_with(" multivalue shim") || name.ends_with(" externref shim") || name.starts_with("__wbg_") {
        return "(wasm-bindgen shims)".into();
    }
    if name.starts_with("byn$mgfn") {
        return "(binaryen merged functions)".into();
    }
    if name.starts_with("__wbindgen_") {
        return "wasm_bindgen".into();
    }
    if ["memcpy", "memmove", "memset", "memcmp", "bcmp"].contains(&name) {
        return "compiler_builtins".into();
    }
    let own = self_crate(name);
    if own == "(no crate)" && name.starts_with('<') {
        if let Some(tr) = qself_trait(name) {
            let t = self_crate(tr);
            if t != "(no crate)" {
                return t;
            }
        }
    }
    own
}

/// The trait path of `<T as Trait>::m` (depth-aware: `T` may hold ` as `).
fn qself_trait(name: &str) -> Option<&str> {
    let mut depth = 0i32;
    let b = name.as_bytes();
    for i in 0..b.len() {
        match b[i] {
            b'<' => depth += 1,
            b'>' => {
                depth -= 1;
                if depth == 0 {
                    return None;
                }
            }
            b' ' if depth == 1 && name[i..].starts_with(" as ") => return Some(&name[i + 4..]),
            _ => {}
        }
    }
    None
}

/// The crate of the first path in `name` (the self type's, for a trait impl).
fn self_crate(name: &str) -> String {
    let mut s = name.trim();
    loop {
        let before = s;
        s = s.trim_start_matches('<').trim_start();
        for p in ["impl ", "&mut ", "&", "*const ", "*mut ", "dyn ", "mut ", "[", "("] {
            if let Some(r) = s.strip_prefix(p) {
                s = r;
            }
        }
        if s == before {
            break;
        }
    }
    let end = s.find([':', '<', ' ', '>', ';', ']', ',']).unwrap_or(s.len());
    if end == s.len() || !s[end..].starts_with("::") || end == 0 {
        return "(no crate)".into();
    }
    s[..end].to_string()
}

/// The module path of a function inside its crate (the treemap's middle
/// level): the path of the item the function belongs to, without the crate,
/// generic arguments or the function's own name. For `<T as Trait>::f` and
/// `<impl T>::f` that is T's path. `runtime::chan::Channel<T>::send` ->
/// `chan::Channel`; `<alloc::vec::Vec<u8> as core::ops::drop::Drop>::drop`
/// -> `vec::Vec`; empty at the crate root and for names without a crate.
pub fn module_of(name: &str) -> String {
    let krate = crate_of(name);
    let Some(start) = name.find(&format!("{krate}::")).filter(|_| krate != "(no crate)") else {
        return String::new();
    };
    let (mut path, mut depth, mut whole) = (String::new(), 0usize, true);
    for c in name[start..].chars() {
        match c {
            '<' => depth += 1,
            '>' if depth == 0 => {
                whole = false;
                break;
            }
            '>' => depth -= 1,
            ' ' | ',' | ';' | ']' | ')' if depth == 0 => {
                whole = false;
                break;
            }
            _ if depth == 0 => path.push(c),
            _ => {}
        }
    }
    let mut parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).skip(1).collect();
    // The whole name is the path: its last segment is the function.
    if whole {
        parts.pop();
    }
    parts.join("::")
}

/// Demangle a symbol (legacy or v0), dropping the hash suffix.
pub fn demangle(name: &str) -> String {
    match rustc_demangle::try_demangle(name) {
        Ok(d) => format!("{d:#}"),
        Err(_) => name.to_string(),
    }
}

/// A function name as reports show it: demangled (legacy or v0) in the
/// alternate form, without crate disambiguators or hashes. Names that
/// arrive already demangled in the non-alternate form (twiggy's, or a name
/// section rewritten by wasm-bindgen: `core[1a2b..]::x`, `a::b::h0123..`)
/// are reduced to the same form, so every source of names agrees.
pub fn normalize_name(name: &str) -> String {
    let demangled = demangle(name);
    let mut out: Vec<u8> = Vec::with_capacity(demangled.len());
    let b = demangled.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // `[` + hex digits + `]`: a v0 crate disambiguator.
        if b[i] == b'[' {
            let j = b[i + 1..].iter().position(|c| !c.is_ascii_hexdigit()).map(|p| i + 1 + p);
            if let Some(j) = j {
                if j > i + 1 && b[j] == b']' {
                    i = j + 1;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    let mut out = String::from_utf8_lossy(&out).into_owned();
    // `::h` + 16 hex digits at the end: a legacy hash.
    if out.len() > 19 && out.is_char_boundary(out.len() - 19) {
        let tail = &out[out.len() - 19..];
        if tail.starts_with("::h") && tail[3..].chars().all(|c| c.is_ascii_hexdigit()) {
            out.truncate(out.len() - 19);
        }
    }
    out
}

/// The generic item a monomorphized function instantiates: its name with
/// every path segment's generic arguments replaced by `<..>`, keeping the
/// qualified-self brackets of `<T as Trait>::f` (so `<A as Debug>::fmt` and
/// `<B as Debug>::fmt`, two impls, stay apart, while `<Vec<u8> as Drop>::drop`
/// and `<Vec<Task> as Drop>::drop` group). `None` for a name without
/// generic arguments.
fn generic_of(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut had_args = false;
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        let after_segment = out.chars().last().is_some_and(|p| p.is_alphanumeric() || p == '_' || p == '}');
        if c == '<' && after_segment {
            // Skip the whole argument list, nested brackets included.
            let mut depth = 1;
            for d in chars.by_ref() {
                match d {
                    '<' => depth += 1,
                    '>' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            out.push_str("<..>");
            had_args = true;
        } else {
            out.push(c);
        }
    }
    had_args.then_some(out)
}

/// Per defined function: the bytes of its code-section entry (body with its
/// size prefix) plus its function-section entry (type index). twiggy counts
/// a function the same way. Also returns the two sections' own overhead
/// (section headers and counts), so everything adds up exactly.
struct FunctionBytes {
    per_function: Vec<u64>,
    bodies: Vec<u64>,
    /// Function + code section bytes not in any function.
    overhead: u64,
}

/// Bytes of each entry of a vector section, from one entry's offset to the
/// next (the last runs to the section's end).
fn entry_spans<'a, T: wasmparser::FromReader<'a>>(s: &wasmparser::SectionLimited<'a, T>) -> Result<Vec<u64>> {
    let mut starts = Vec::new();
    for e in s.clone().into_iter_with_offsets() {
        starts.push(e?.0);
    }
    let end = s.range().end;
    Ok(starts.iter().enumerate().map(|(i, st)| (starts.get(i + 1).copied().unwrap_or(end) - st) as u64).collect())
}

fn entry_sizes(bytes: &[u8]) -> Result<FunctionBytes> {
    let mut bodies = Vec::new();
    let mut decls = Vec::new();
    let mut sections_total = 0u64;
    let mut prev_end = 0usize;
    let mut last_end = 8usize;
    for p in wasmparser::Parser::new(0).parse_all(bytes) {
        let p = p?;
        if let Some((_, range)) = p.as_section() {
            let whole = (range.end - last_end) as u64;
            last_end = range.end;
            match &p {
                wasmparser::Payload::FunctionSection(s) => {
                    sections_total += whole;
                    decls = entry_spans(s)?;
                }
                wasmparser::Payload::CodeSectionStart { range, .. } => {
                    sections_total += whole;
                    let mut r = wasmparser::BinaryReader::new(&bytes[range.start..range.end], range.start);
                    r.read_var_u32()?;
                    prev_end = r.original_position();
                }
                _ => {}
            }
        }
        if let wasmparser::Payload::CodeSectionEntry(b) = p {
            let end = b.range().end;
            bodies.push((end - prev_end) as u64);
            prev_end = end;
        }
    }
    if decls.len() != bodies.len() {
        bail!("function section declares {} functions but the code section has {}", decls.len(), bodies.len());
    }
    let per_function: Vec<u64> = bodies.iter().zip(&decls).map(|(b, d)| b + d).collect();
    let overhead = sections_total - per_function.iter().sum::<u64>();
    Ok(FunctionBytes { per_function, bodies, overhead })
}

/// Per data segment: its bytes in the data section (entry and payload).
/// The section's own header and count are the section size (from
/// `wasmfile::sections`) minus these.
fn data_segments(bytes: &[u8]) -> Result<(Vec<u64>, Vec<Vec<u64>>)> {
    for p in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::Payload::DataSection(s) = p? {
            let signatures = s.clone().into_iter().map(|d| d.map(|d| signature(d.data))).collect::<Result<Vec<_>, _>>()?;
            return Ok((entry_spans(&s)?, signatures));
        }
    }
    Ok((vec![], vec![]))
}

/// Hash functions in a data segment's signature.
const SIGNATURE_LEN: usize = 32;

/// A MinHash signature of `data`: per hash function, the smallest hash of
/// any 8-byte window. The share of equal entries between two signatures
/// estimates the share of windows the two byte strings have in common
/// (Broder, "On the resemblance and containment of documents", 1997).
pub(crate) fn signature(data: &[u8]) -> Vec<u64> {
    let mix = |mut z: u64| {
        // splitmix64's finalizer.
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    };
    let mut sig = vec![u64::MAX; SIGNATURE_LEN];
    let windows: Box<dyn Iterator<Item = u64>> = if data.len() < 8 {
        let mut w = [0u8; 8];
        w[..data.len()].copy_from_slice(data);
        Box::new(std::iter::once(u64::from_le_bytes(w) ^ data.len() as u64))
    } else {
        Box::new(data.windows(8).map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes"))))
    };
    for x in windows {
        let base = mix(x);
        for (i, m) in sig.iter_mut().enumerate() {
            *m = (*m).min(mix(base ^ (i as u64).wrapping_mul(0x9e3779b97f4a7c15)));
        }
    }
    sig
}

/// The estimated share of content two signatures have in common.
fn resemblance(a: &[u64], b: &[u64]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len().max(1) as f64
}

/// Which name map of the name section to read.
#[derive(Clone, Copy, PartialEq)]
enum NameKind {
    Function,
    Data,
}

/// Names from the name section (index -> name) of one kind, if any.
fn section_names(bytes: &[u8], kind: NameKind) -> BTreeMap<u32, String> {
    let mut out = BTreeMap::new();
    for p in wasmparser::Parser::new(0).parse_all(bytes).flatten() {
        if let wasmparser::Payload::CustomSection(c) = p {
            if let wasmparser::KnownCustom::Name(r) = c.as_known() {
                for n in r.into_iter().flatten() {
                    let map = match (n, kind) {
                        (wasmparser::Name::Function(m), NameKind::Function) => m,
                        (wasmparser::Name::Data(m), NameKind::Data) => m,
                        _ => continue,
                    };
                    for nm in map.into_iter().flatten() {
                        out.insert(nm.index, nm.name.to_string());
                    }
                }
            }
        }
    }
    out
}

/// Function index -> export name (the first export of each function): the
/// names a module without a name section still carries.
fn export_names(bytes: &[u8]) -> BTreeMap<u32, String> {
    let mut out = BTreeMap::new();
    for p in wasmparser::Parser::new(0).parse_all(bytes).flatten() {
        if let wasmparser::Payload::ExportSection(s) = p {
            for e in s.into_iter().flatten() {
                if e.kind == wasmparser::ExternalKind::Func {
                    out.entry(e.index).or_insert_with(|| e.name.to_string());
                }
            }
        }
    }
    out
}

/// For the paths through the table: per defined function, its type index
/// and the type indices it calls with `call_indirect`.
struct IndirectCalls {
    types: Vec<u32>,
    calls: Vec<Vec<u32>>,
}

fn indirect_calls(bytes: &[u8]) -> IndirectCalls {
    let (mut types, mut calls) = (Vec::new(), Vec::new());
    for p in wasmparser::Parser::new(0).parse_all(bytes).flatten() {
        match p {
            wasmparser::Payload::FunctionSection(s) => types.extend(s.into_iter().flatten()),
            wasmparser::Payload::CodeSectionEntry(body) => {
                let mut called = Vec::new();
                if let Ok(mut ops) = body.get_operators_reader() {
                    while !ops.eof() {
                        match ops.read() {
                            Ok(wasmparser::Operator::CallIndirect { type_index, .. }) | Ok(wasmparser::Operator::ReturnCallIndirect { type_index, .. }) => called.push(type_index),
                            Ok(_) => {}
                            Err(_) => break,
                        }
                    }
                }
                called.sort_unstable();
                called.dedup();
                calls.push(called);
            }
            _ => {}
        }
    }
    IndirectCalls { types, calls }
}

fn imported_functions(bytes: &[u8]) -> u32 {
    let mut n = 0;
    for p in wasmparser::Parser::new(0).parse_all(bytes).flatten() {
        if let wasmparser::Payload::ImportSection(s) = p {
            n += s.into_iter().flatten().filter(|i| matches!(i.ty, wasmparser::TypeRef::Func(_))).count() as u32;
        }
    }
    n
}

/// Items with twiggy. Runs twiggy's parser under `catch_unwind`: its old
/// wasmparser panics on some inputs instead of returning an error.
///
/// `code_names` names defined function i (the report's names, which may
/// come from exports where twiggy has only `code[i]`); paths are listed for
/// real items only (functions and data), never for sections.
/// Retained sizes in item order, and each named item's retaining paths.
type RetainedAndPaths = (Vec<u64>, BTreeMap<String, Vec<String>>);

fn twiggy_items(bytes: &[u8], code_names: &[String], data_names: &[String]) -> Result<RetainedAndPaths> {
    let data = bytes.to_vec();
    let parsed = std::panic::catch_unwind(move || twiggy_parser::parse(&data));
    let mut items = match parsed {
        Ok(Ok(items)) => items,
        Ok(Err(e)) => bail!("twiggy's parser rejected the module: {e}"),
        Err(_) => bail!("twiggy's parser panicked on the module"),
    };
    items.compute_retained_sizes();
    items.compute_predecessors();
    let root = items.meta_root();
    // Code items come in Id order, which is code-section order: the i-th
    // is defined function i. Match by position, not by name (several
    // monomorphizations can share a display name).
    let code: Vec<twiggy_ir::Id> = items.iter().filter(|it| matches!(it.kind(), twiggy_ir::ItemKind::Code(_))).map(|it| it.id()).collect();
    let out: Vec<u64> = code.iter().map(|id| items.retained_size(*id) as u64).collect();
    // twiggy's data items are the data segments, in order, and the globals
    // (`global[N]`).
    let data: Vec<twiggy_ir::Id> = items.iter().filter(|it| matches!(it.kind(), twiggy_ir::ItemKind::Data(_)) && !it.name().starts_with("global[")).map(|it| it.id()).collect();
    let name_of = |id: twiggy_ir::Id| -> String {
        let ours = code.iter().position(|c| *c == id).and_then(|i| code_names.get(i)).or_else(|| data.iter().position(|d| *d == id).and_then(|i| data_names.get(i)));
        match ours {
            Some(n) => n.clone(),
            None => normalize_name(items[id].name()),
        }
    };
    // Paths for the 10 largest retained real items (functions, data):
    // walk predecessors to a root.
    let mut by_retained: Vec<_> = items
        .iter()
        .filter(|i| i.id() != root && (code.contains(&i.id()) || data.contains(&i.id())))
        .map(|i| (items.retained_size(i.id()), i.id()))
        .collect();
    by_retained.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    // A function reached only through the table is kept by whoever calls
    // its type indirectly: continue the path there (the caller that keeps
    // the most alive), instead of stopping at `elem <- table`.
    let indirect = indirect_calls(bytes);
    let through_table = |cur: twiggy_ir::Id, seen: &std::collections::BTreeSet<twiggy_ir::Id>| -> Option<(u32, twiggy_ir::Id)> {
        let ty = *indirect.types.get(code.iter().position(|c| *c == cur)?)?;
        let caller = (0..code.len().min(indirect.calls.len()))
            .filter(|g| indirect.calls[*g].contains(&ty) && !seen.contains(&code[*g]))
            .max_by_key(|g| (items.retained_size(code[*g]), std::cmp::Reverse(*g)))?;
        Some((ty, code[caller]))
    };
    let mut paths = BTreeMap::new();
    for (_, id) in by_retained.into_iter().take(10) {
        let mut path = vec![name_of(id)];
        let mut cur = id;
        let mut seen = std::collections::BTreeSet::from([cur]);
        while let Some(p) = items.predecessors(cur).find(|p| !seen.contains(p)) {
            if p == root {
                break;
            }
            if items[p].name().starts_with("elem") {
                if let Some((ty, caller)) = through_table(cur, &seen) {
                    path.push(format!("the table (any call_indirect of type {ty} may call it; the one keeping the most alive is in)"));
                    path.push(name_of(caller));
                    seen.insert(caller);
                    cur = caller;
                    if path.len() > 12 {
                        break;
                    }
                    continue;
                }
            }
            path.push(name_of(p));
            seen.insert(p);
            cur = p;
            if path.len() > 12 {
                break;
            }
        }
        paths.insert(name_of(id), path);
    }
    Ok((out, paths))
}

/// Attribute `file` (the shipped artifact), taking names from `named`
/// when given (stripped profiles).
pub fn analyze(file: &Path, named: Option<&Path>) -> Result<Report> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let what = file.display().to_string();
    let sections = wasmfile::sections(&bytes, &what)?;
    let without_custom = wasmfile::without_custom_sections(&bytes, &what)?.len() as u64;
    let file_bytes = bytes.len() as u64;

    // Names: from the file itself when it has them, else from the twin.
    let has_names = sections.iter().any(|s| s.name == "custom:name");
    let mut twin_mismatches = Vec::new();
    let mut names_from = file.to_path_buf();
    let mut name_source = bytes.clone();
    if !has_names {
        if let Some(n) = named {
            let twin = std::fs::read(n).with_context(|| format!("reading {}", n.display()))?;
            let (a, b) = (entry_sizes(&bytes)?.bodies, entry_sizes(&twin)?.bodies);
            if a.len() != b.len() {
                twin_mismatches.push(format!("function count differs: shipped {} vs twin {}", a.len(), b.len()));
            }
            let tn = section_names(&twin, NameKind::Function);
            let first = imported_functions(&twin);
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                if x != y {
                    let nm = tn.get(&(first + i as u32)).map(|s| normalize_name(s)).unwrap_or(format!("code[{i}]"));
                    twin_mismatches.push(format!("{nm}: shipped {x} bytes vs twin {y} bytes"));
                }
            }
            if twin_mismatches.is_empty() {
                names_from = n.to_path_buf();
                name_source = twin;
            }
        }
    }

    // Shallow sizes always come from the shipped file: each function body
    // (wasmparser), every other section whole, and the code section's own
    // headers, so the items add up to the file exactly by construction.
    // twiggy supplies what needs its IR: retained sizes and paths, looked up
    // by function name in the name source.
    let fb = entry_sizes(&bytes).map_err(|e| anyhow!("{what}: {e}"))?;
    // No name section and no twin: the export names are the names there
    // are (a stripped wasm-bindgen module keeps every export's).
    let by_export = !has_names && names_from == file;
    let names = if by_export { export_names(&bytes) } else { section_names(&name_source, NameKind::Function) };
    let first = imported_functions(&name_source);
    let code_names: Vec<String> = (0..fb.per_function.len())
        .map(|i| names.get(&(first + i as u32)).map(|n| if by_export { n.clone() } else { normalize_name(n) }).unwrap_or_else(|| format!("code[{i}]")))
        .collect();
    let (segs, seg_signatures) = data_segments(&bytes)?;
    let data_names: Vec<String> = {
        let dn = section_names(&name_source, NameKind::Data);
        (0..segs.len()).map(|i| dn.get(&(i as u32)).map(|n| format!("data segment {n}")).unwrap_or_else(|| format!("data[{i}]"))).collect()
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
        items.push(Item { krate: crate_of(&name), name, kind: "function".into(), shallow_bytes: *b, retained_bytes });
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
                let name = data_names.get(i).cloned().unwrap_or_else(|| format!("data[{i}]"));
                items.push(Item { name, kind: "data".into(), shallow_bytes: *b, retained_bytes: *b, krate: String::new() });
            }
            ("data section header and count".to_string(), overhead, "section")
        } else {
            (format!("section {}", sec.name), sec.bytes, "section")
        };
        items.push(Item { name, kind: kind.into(), shallow_bytes: b, retained_bytes: b, krate: String::new() });
    }
    // The 8-byte preamble (magic + version).
    items.push(Item { name: "module header (magic, version)".into(), kind: "section".into(), shallow_bytes: 8, retained_bytes: 8, krate: String::new() });
    if names_from != file {
        note.push_str(if note.is_empty() { "" } else { "; " });
        note.push_str(&format!("names from the twin {} (every function body matches the shipped file in size)", n_display(&names_from)));
    } else if !has_names {
        note.push_str(if note.is_empty() { "" } else { "; " });
        let exported = (0..fb.per_function.len()).filter(|i| names.contains_key(&(first + *i as u32))).count();
        note.push_str(&format!(
            "the module has no name section and no matching twin: {exported} of {} functions are named by their export names, the rest by index",
            fb.per_function.len()
        ));
    }
    if !twin_mismatches.is_empty() {
        note.push_str(&format!("; the named twin does not match the shipped file ({} differences): names not used", twin_mismatches.len()));
    }
    items.retain(|i| i.shallow_bytes > 0 || i.kind == "function");
    items.sort_by(|a, b| b.shallow_bytes.cmp(&a.shallow_bytes).then(a.name.cmp(&b.name)));
    let attributed_bytes: u64 = items.iter().map(|i| i.shallow_bytes).sum();
    if attributed_bytes != file_bytes {
        return Err(anyhow!("attribution of {what} does not conserve bytes: {attributed_bytes} != {file_bytes}"));
    }

    let mut crates: BTreeMap<String, CrateRow> = BTreeMap::new();
    let mut monos: BTreeMap<String, Mono> = BTreeMap::new();
    for it in items.iter().filter(|i| i.kind == "function") {
        let c = crates.entry(it.krate.clone()).or_insert(CrateRow { krate: it.krate.clone(), bytes: 0, functions: 0 });
        c.bytes += it.shallow_bytes;
        c.functions += 1;
        if let Some(g) = generic_of(&it.name) {
            let m = monos.entry(g.clone()).or_insert(Mono { generic: g, instantiations: 0, bytes: 0 });
            m.instantiations += 1;
            m.bytes += it.shallow_bytes;
        }
    }
    let mut crates: Vec<CrateRow> = crates.into_values().collect();
    crates.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.krate.cmp(&b.krate)));
    let mut monomorphizations: Vec<Mono> = monos.into_values().filter(|m| m.instantiations > 1).collect();
    monomorphizations.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.generic.cmp(&b.generic)));

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

fn n_display(p: &Path) -> String {
    p.display().to_string()
}

fn diff_rows(old: BTreeMap<String, u64>, new: BTreeMap<String, u64>) -> Vec<DiffRow> {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut rows: Vec<DiffRow> = keys
        .into_iter()
        .filter_map(|k| {
            let (o, n) = (old.get(k).copied(), new.get(k).copied());
            let (ob, nb) = (o.unwrap_or(0), n.unwrap_or(0));
            let change = match (o, n) {
                (None, Some(_)) => "appeared",
                (Some(_), None) => "vanished",
                _ if nb > ob => "grew",
                _ if nb < ob => "shrank",
                _ => return None,
            };
            Some(DiffRow { name: k.clone(), old_bytes: ob, new_bytes: nb, delta: nb as i64 - ob as i64, change: change.into() })
        })
        .collect();
    rows.sort_by(|a, b| b.delta.abs().cmp(&a.delta.abs()).then(a.name.cmp(&b.name)));
    rows
}

/// Diff two reports per item and per crate.
pub fn diff(old: &Report, new: &Report, against: &str) -> Diff {
    let sum_by = |r: &Report, f: &dyn Fn(&Item) -> Option<String>| {
        let mut m = BTreeMap::new();
        for i in &r.items {
            if let Some(k) = f(i) {
                *m.entry(k).or_insert(0u64) += i.shallow_bytes;
            }
        }
        m
    };
    let crate_key = |i: &Item| Some(if i.kind == "function" { i.krate.clone() } else { format!("({})", i.kind) });
    let item_key = |i: &Item| Some(i.name.clone());
    Diff {
        against: against.into(),
        old_bytes: old.file_bytes,
        new_bytes: new.file_bytes,
        crates: diff_rows(sum_by(old, &crate_key), sum_by(new, &crate_key)),
        items: pair_renumbered_data(diff_rows(sum_by(old, &item_key), sum_by(new, &item_key)), old, new),
    }
}

/// Content two data segments must share (estimated) to be one segment the
/// linker renumbered.
const SAME_SEGMENT: f64 = 0.5;

/// A data segment that "vanished" and one that "appeared" are one segment
/// renumbered when their bytes mostly agree (`.rodata.66` -12363 and
/// `.rodata.64` +11264 were one table): pair them, most alike first, into
/// one row under the new name that says the old one; a pair of the same
/// size is unchanged and has no row.
fn pair_renumbered_data(rows: Vec<DiffRow>, old: &Report, new: &Report) -> Vec<DiffRow> {
    let (mut gone, mut came, mut rest): (Vec<DiffRow>, Vec<DiffRow>, Vec<DiffRow>) = (vec![], vec![], vec![]);
    for r in rows {
        match (r.change.as_str(), old.data_signatures.get(&r.name), new.data_signatures.get(&r.name)) {
            ("vanished", Some(_), _) => gone.push(r),
            ("appeared", _, Some(_)) => came.push(r),
            _ => rest.push(r),
        }
    }
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (gi, g) in gone.iter().enumerate() {
        for (ci, c) in came.iter().enumerate() {
            let sim = resemblance(&old.data_signatures[&g.name], &new.data_signatures[&c.name]);
            if sim >= SAME_SEGMENT {
                pairs.push((sim, gi, ci));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let (mut used_g, mut used_c) = (vec![false; gone.len()], vec![false; came.len()]);
    for (sim, gi, ci) in pairs {
        if used_g[gi] || used_c[ci] {
            continue;
        }
        (used_g[gi], used_c[ci]) = (true, true);
        let (g, c) = (&gone[gi], &came[ci]);
        let delta = c.new_bytes as i64 - g.old_bytes as i64;
        // Renumbered and no bigger or smaller: unchanged, so no row.
        let how = match delta {
            d if d > 0 => "grew",
            d if d < 0 => "shrank",
            _ => continue,
        };
        rest.push(DiffRow {
            name: format!("{} (was {}, {:.0} % alike)", c.name, g.name.trim_start_matches("data segment "), sim * 100.0),
            old_bytes: g.old_bytes,
            new_bytes: c.new_bytes,
            delta,
            change: how.into(),
        });
    }
    rest.extend(gone.into_iter().zip(used_g).filter(|(_, u)| !u).map(|(r, _)| r));
    rest.extend(came.into_iter().zip(used_c).filter(|(_, u)| !u).map(|(r, _)| r));
    rest.sort_by(|a, b| b.delta.abs().cmp(&a.delta.abs()).then(a.name.cmp(&b.name)));
    rest
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_rule() {
        assert_eq!(crate_of("runtime::sched::Scheduler::pick"), "runtime");
        assert_eq!(crate_of("<alloc::vec::Vec<u8> as core::ops::drop::Drop>::drop"), "alloc");
        assert_eq!(crate_of("<&T as core::fmt::Debug>::fmt"), "core");
        assert_eq!(crate_of("<u32 as core::fmt::Display>::fmt"), "core");
        assert_eq!(crate_of("<&str as core::any::Any>::type_id"), "core");
        assert_eq!(crate_of("__wbindgen_malloc"), "wasm_bindgen");
        assert_eq!(crate_of("__wbg_store_free"), "(wasm-bindgen shims)");
        assert_eq!(crate_of("memcmp"), "compiler_builtins");
        assert_eq!(crate_of("store_trim"), "(no crate)");
        assert_eq!(crate_of("<&core::fmt::Arguments as core::fmt::Display>::fmt"), "core");
        assert_eq!(crate_of("<[T] as core::fmt::Debug>::fmt"), "core");
        assert_eq!(crate_of("core::ptr::drop_in_place<runtime::Task>"), "core");
        assert_eq!(crate_of("<impl runtime::Foo>::bar"), "runtime");
        assert_eq!(crate_of("memcpy"), "compiler_builtins");
        assert_eq!(crate_of("dlmalloc::dlmalloc::Dlmalloc<A>::malloc"), "dlmalloc");
        assert_eq!(crate_of("greet multivalue shim"), "(wasm-bindgen shims)");
        assert_eq!(crate_of("byn$mgfn-shared$core::fmt::write"), "(binaryen merged functions)");
    }

    #[test]
    fn a_renumbered_data_segment_is_paired_by_content() {
        // A table of 12363 bytes moves from .rodata.66 to .rodata.64 and
        // loses 1099 bytes; an unrelated segment appears beside it.
        let table: Vec<u8> = (0..12363u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        let other: Vec<u8> = (0..4000u32).map(|i| (i.wrapping_mul(40503) >> 5) as u8 ^ 0x5a).collect();
        let mk = |segs: &[(&str, &[u8])]| {
            let mut r = analyze(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/named.wasm"), None).unwrap();
            r.items.retain(|i| i.kind != "data");
            r.data_signatures.clear();
            for (n, d) in segs {
                let name = format!("data segment {n}");
                r.items.push(Item { name: name.clone(), kind: "data".into(), shallow_bytes: d.len() as u64, retained_bytes: d.len() as u64, krate: String::new() });
                r.data_signatures.insert(name, signature(d));
            }
            r
        };
        let old = mk(&[(".rodata.66", &table)]);
        let new = mk(&[(".rodata.64", &table[..11264]), (".rodata.65", &other)]);
        let d = diff(&old, &new, "base");
        let data: Vec<&DiffRow> = d.items.iter().filter(|r| r.name.starts_with("data segment")).collect();
        assert_eq!(data.len(), 2, "{data:#?}");
        let moved = data.iter().find(|r| r.name.starts_with("data segment .rodata.64 (was .rodata.66")).expect("paired");
        assert_eq!((moved.old_bytes, moved.new_bytes, moved.delta, moved.change.as_str()), (12363, 11264, -1099, "shrank"));
        let fresh = data.iter().find(|r| r.name == "data segment .rodata.65").expect("the unrelated one stays new");
        assert_eq!(fresh.change, "appeared");
        // Renumbered with the same bytes: unchanged, no row at all.
        let same = diff(&mk(&[(".rodata.66", &table)]), &mk(&[(".rodata.64", &table)]), "base");
        assert!(same.items.iter().all(|r| !r.name.starts_with("data segment")), "{:#?}", same.items);
        assert!(same.crates.iter().all(|r| r.name != "(data)"), "{:#?}", same.crates);
        // Unalike bytes never pair.
        assert!(resemblance(&signature(&table), &signature(&other)) < SAME_SEGMENT);
        assert!(resemblance(&signature(&table), &signature(&table[..11264])) > 0.8);
    }

    #[test]
    fn module_rule() {
        assert_eq!(module_of("runtime::chan::Channel<T>::send"), "chan::Channel");
        assert_eq!(module_of("<alloc::vec::Vec<u8> as core::ops::drop::Drop>::drop"), "vec::Vec");
        assert_eq!(module_of("core::ptr::drop_in_place<runtime::Task>"), "ptr");
        assert_eq!(module_of("<impl runtime::Foo>::bar"), "Foo");
        assert_eq!(module_of("dlmalloc::dlmalloc::Dlmalloc<A>::malloc"), "dlmalloc::Dlmalloc");
        assert_eq!(module_of("runtime::work::mixed::{{closure}}"), "work::mixed");
        assert_eq!(module_of("runtime::rt_init"), "");
        assert_eq!(module_of("memcpy"), "");
        // An impl for a type without a crate sits under its trait.
        assert_eq!(module_of("<&T as core::fmt::Debug>::fmt"), "fmt::Debug");
    }

    #[test]
    fn generic_strips_arguments() {
        assert_eq!(generic_of("core::ptr::drop_in_place<runtime::Task>").unwrap(), "core::ptr::drop_in_place<..>");
        assert_eq!(generic_of("a::b"), None);
        // Instantiations of one generic item group; two impls do not.
        assert_eq!(generic_of("<alloc::vec::Vec<u8> as core::ops::drop::Drop>::drop").unwrap(), "<alloc::vec::Vec<..> as core::ops::drop::Drop>::drop");
        assert_eq!(generic_of("<alloc::vec::Vec<runtime::Task> as core::ops::drop::Drop>::drop").unwrap(), "<alloc::vec::Vec<..> as core::ops::drop::Drop>::drop");
        assert_eq!(generic_of("<runtime::A as core::fmt::Debug>::fmt"), None);
        assert_eq!(generic_of("<&T as core::fmt::Debug>::fmt"), None);
        assert_eq!(generic_of("<impl runtime::Foo<u8>>::bar").unwrap(), "<impl runtime::Foo<..>>::bar");
        assert_eq!(generic_of("alloc::raw_vec::RawVec<T,A>::grow_one").unwrap(), "alloc::raw_vec::RawVec<..>::grow_one");
        assert_eq!(generic_of("<core::iter::Map<I,F> as core::iter::Iterator>::next").unwrap(), "<core::iter::Map<..> as core::iter::Iterator>::next");
    }

    #[test]
    fn diff_classifies() {
        let old = BTreeMap::from([("a".to_string(), 10u64), ("b".to_string(), 5), ("c".to_string(), 7)]);
        let new = BTreeMap::from([("a".to_string(), 12u64), ("b".to_string(), 5), ("d".to_string(), 1)]);
        let rows = diff_rows(old, new);
        let by: BTreeMap<_, _> = rows.iter().map(|r| (r.name.as_str(), r.change.as_str())).collect();
        assert_eq!(by, BTreeMap::from([("a", "grew"), ("c", "vanished"), ("d", "appeared")]));
    }
}
