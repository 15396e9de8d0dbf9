//! Reading a wasm module with a current parser (wasmparser): the feature set
//! it really uses, and its sections. Shared by optimize, size and attribute.
//!
//! Feature detection matters because binaryen validates against an explicit
//! feature set: a module stripped of its `target_features` section that uses
//! bulk memory is rejected unless bulk memory is enabled. We therefore read
//! `target_features` when present and, in every case, scan the code for the
//! proposals its instructions and types belong to, taking the union.

use anyhow::{anyhow, bail, Result};
use std::collections::{BTreeMap, BTreeSet};
use wasmparser::{Operator, Parser, Payload, ValType};

/// One section of a module, in file order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Section {
    /// `code`, `data`, `type`, ... or `custom:<name>`.
    pub name: String,
    /// Bytes the section occupies in the file, header included.
    pub bytes: u64,
    pub custom: bool,
}

/// Check the magic and version before anything else parses the file, so a
/// non-wasm artifact gets one clear message.
pub fn check_magic(bytes: &[u8], what: &str) -> Result<()> {
    if bytes.len() < 8 || &bytes[0..4] != b"\0asm" {
        bail!(
            "{what} is not a WebAssembly module (no \\0asm magic; {} bytes)",
            bytes.len()
        );
    }
    if bytes[4..8] != [1, 0, 0, 0] {
        bail!("{what} is a WebAssembly component or unknown version, not a core module");
    }
    Ok(())
}

/// Rename export `from` to `to` (of the same length) in place; no other
/// byte moves. Returns whether the module had the export.
pub fn rename_export(bytes: &mut [u8], from: &str, to: &str) -> Result<bool> {
    if from.len() != to.len() {
        bail!("rename_export: `{from}` and `{to}` differ in length");
    }
    let mut at = None;
    for payload in Parser::new(0).parse_all(bytes) {
        if let Payload::ExportSection(reader) = payload? {
            for e in reader {
                let e = e?;
                if e.name == from {
                    at = Some(e.name.as_ptr() as usize - bytes.as_ptr() as usize);
                }
            }
        }
    }
    let Some(at) = at else { return Ok(false) };
    bytes[at..at + to.len()].copy_from_slice(to.as_bytes());
    Ok(true)
}

/// The sections of a module with their sizes. Section sizes (including the
/// 8-byte preamble) add up to the file size exactly.
pub fn sections(bytes: &[u8], what: &str) -> Result<Vec<Section>> {
    check_magic(bytes, what)?;
    let mut out = Vec::new();
    let mut last_end = 8usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| anyhow!("{what}: malformed wasm: {e}"))?;
        let (name, range) = match &payload {
            Payload::CustomSection(c) => (format!("custom:{}", c.name()), c.range()),
            Payload::TypeSection(s) => ("type".into(), s.range()),
            Payload::ImportSection(s) => ("import".into(), s.range()),
            Payload::FunctionSection(s) => ("function".into(), s.range()),
            Payload::TableSection(s) => ("table".into(), s.range()),
            Payload::MemorySection(s) => ("memory".into(), s.range()),
            Payload::TagSection(s) => ("tag".into(), s.range()),
            Payload::GlobalSection(s) => ("global".into(), s.range()),
            Payload::ExportSection(s) => ("export".into(), s.range()),
            Payload::StartSection { range, .. } => ("start".into(), range.clone()),
            Payload::ElementSection(s) => ("element".into(), s.range()),
            Payload::DataCountSection { range, .. } => ("datacount".into(), range.clone()),
            Payload::DataSection(s) => ("data".into(), s.range()),
            Payload::CodeSectionStart { range, .. } => ("code".into(), range.clone()),
            Payload::End(_) => break,
            _ => continue,
        };
        // A section's header (id + LEB size) precedes its range; count the
        // whole span from the previous section's end so sizes are conserved.
        let bytes_total = (range.end - last_end) as u64;
        last_end = range.end;
        let custom = name.starts_with("custom:");
        out.push(Section {
            name,
            bytes: bytes_total,
            custom,
        });
    }
    if last_end != bytes.len() {
        bail!(
            "{what}: {} trailing bytes after the last section",
            bytes.len() - last_end
        );
    }
    Ok(out)
}

/// The module with every custom section removed (names, producers, DWARF,
/// target_features...): what a browser strictly needs.
pub fn without_custom_sections(bytes: &[u8], what: &str) -> Result<Vec<u8>> {
    check_magic(bytes, what)?;
    let mut out = bytes[..8].to_vec();
    let mut last_end = 8usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| anyhow!("{what}: malformed wasm: {e}"))?;
        let (range, keep) = match &payload {
            Payload::CustomSection(c) => (c.range(), false),
            Payload::End(_) => break,
            p => match p.as_section() {
                Some((_, r)) => (r, true),
                None => continue,
            },
        };
        if keep {
            out.extend_from_slice(&bytes[last_end..range.end]);
        }
        last_end = range.end;
    }
    Ok(out)
}

macro_rules! define_proposal_of {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        /// The proposal an instruction belongs to, as wasmparser's operator
        /// table names it (`mvp`, `bulk_memory`, `simd`, ...).
        fn proposal_of(op: &Operator) -> &'static str {
            match op {
                $( Operator::$op { .. } => stringify!($proposal), )*
                #[allow(unreachable_patterns)]
                _ => "mvp",
            }
        }
    };
}
wasmparser::for_each_operator!(define_proposal_of);

/// Map a wasmparser proposal (or `target_features` name) to binaryen's
/// feature name. `None` for MVP and for proposals binaryen 116 cannot name.
fn binaryen_name(proposal: &str) -> Option<&'static str> {
    Some(match proposal {
        "sign_extension" | "sign-ext" => "sign-ext",
        "saturating_float_to_int" | "nontrapping-fptoint" => "nontrapping-float-to-int",
        "bulk_memory" | "bulk-memory" => "bulk-memory",
        "reference_types" | "reference-types" => "reference-types",
        "simd" | "simd128" => "simd",
        "relaxed_simd" | "relaxed-simd" => "relaxed-simd",
        "threads" | "atomics" | "shared-mem" => "threads",
        "tail_call" | "tail-call" => "tail-call",
        "exceptions" | "legacy_exceptions" | "exception-handling" => "exception-handling",
        "multivalue" => "multivalue",
        "mutable-globals" | "mutable_globals" => "mutable-globals",
        "memory64" => "memory64",
        "extended-const" => "extended-const",
        "multimemory" | "multi-memory" => "multi-memory",
        "gc" | "function_references" => "gc",
        _ => return None,
    })
}

/// The binaryen feature names a module needs: `target_features` plus what
/// its code and types actually use. Long by design: one match arm per
/// proposal's operators and types, a table more than logic.
pub fn features(bytes: &[u8], what: &str) -> Result<BTreeSet<&'static str>> {
    check_magic(bytes, what)?;
    let mut set = BTreeSet::new();
    let add = |p: &str, set: &mut BTreeSet<&'static str>| {
        if let Some(n) = binaryen_name(p) {
            set.insert(n);
        }
    };
    let ref_or_simd = |t: &ValType, set: &mut BTreeSet<&'static str>| match t {
        ValType::V128 => {
            set.insert("simd");
        }
        ValType::Ref(_) => {
            set.insert("reference-types");
        }
        _ => {}
    };
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| anyhow!("{what}: malformed wasm: {e}"))?;
        match payload {
            Payload::CustomSection(c) if c.name() == "target_features" => {
                // Format: vec of (prefix byte, name). `+` means used.
                let data = c.data();
                let mut r = wasmparser::BinaryReader::new(data, 0);
                if let Ok(n) = r.read_var_u32() {
                    for _ in 0..n {
                        let (Ok(prefix), Ok(name)) = (r.read_u8(), r.read_string()) else {
                            break;
                        };
                        if prefix == b'+' {
                            add(name, &mut set);
                        }
                    }
                }
            }
            Payload::TypeSection(s) => {
                for rg in s.into_iter().flatten() {
                    for ty in rg.types() {
                        if let wasmparser::CompositeInnerType::Func(f) = &ty.composite_type.inner {
                            if f.results().len() > 1 {
                                set.insert("multivalue");
                            }
                            for t in f.params().iter().chain(f.results()) {
                                ref_or_simd(t, &mut set);
                            }
                        } else {
                            set.insert("gc");
                        }
                    }
                }
            }
            Payload::ImportSection(s) => {
                for imp in s.into_iter().flatten() {
                    if let wasmparser::TypeRef::Global(g) = imp.ty {
                        if g.mutable {
                            set.insert("mutable-globals");
                        }
                    }
                    if let wasmparser::TypeRef::Memory(m) = imp.ty {
                        if m.shared {
                            set.insert("threads");
                        }
                        if m.memory64 {
                            set.insert("memory64");
                        }
                    }
                }
            }
            Payload::MemorySection(s) => {
                for m in s.into_iter().flatten() {
                    if m.shared {
                        set.insert("threads");
                    }
                    if m.memory64 {
                        set.insert("memory64");
                    }
                }
            }
            Payload::TableSection(s) if s.count() > 1 => {
                set.insert("reference-types");
            }
            Payload::GlobalSection(s) => {
                for g in s.into_iter().flatten() {
                    ref_or_simd(&g.ty.content_type, &mut set);
                }
            }
            Payload::DataSection(s) => {
                for d in s.into_iter().flatten() {
                    if matches!(d.kind, wasmparser::DataKind::Passive) {
                        set.insert("bulk-memory");
                    }
                }
            }
            Payload::TagSection(_) => {
                set.insert("exception-handling");
            }
            Payload::CodeSectionEntry(body) => {
                if let Ok(locals) = body.get_locals_reader() {
                    for l in locals.into_iter().flatten() {
                        ref_or_simd(&l.1, &mut set);
                    }
                }
                let mut ops = body
                    .get_operators_reader()
                    .map_err(|e| anyhow!("{what}: malformed code: {e}"))?;
                while !ops.eof() {
                    let op = ops
                        .read()
                        .map_err(|e| anyhow!("{what}: malformed code: {e}"))?;
                    match &op {
                        Operator::CallIndirect { table_index, .. } if *table_index != 0 => {
                            set.insert("reference-types");
                        }
                        Operator::Block { blockty }
                        | Operator::Loop { blockty }
                        | Operator::If { blockty } => {
                            if matches!(blockty, wasmparser::BlockType::FuncType(_)) {
                                set.insert("multivalue");
                            }
                        }
                        _ => {}
                    }
                    add(proposal_of(&op), &mut set);
                }
            }
            _ => {}
        }
    }
    // Rust (1.82+) targets these by default; binaryen needs mutable-globals
    // for the exported stack pointer of some toolchains as well. Enabling a
    // feature the module does not use is harmless for validation, while a
    // missing one is fatal, so we add the toolchain's defaults.
    for f in ["sign-ext", "mutable-globals"] {
        set.insert(f);
    }
    Ok(set)
}

/// A function a module exports, with its parameter types as wasm spells
/// them (`i32`, `i64`, `f64`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedFn {
    pub name: String,
    pub params: Vec<String>,
}

/// What a module offers and needs: its function exports, in export order,
/// and its imports (`module.name`, kind).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interface {
    pub functions: Vec<ExportedFn>,
    pub imports: Vec<(String, &'static str)>,
}

/// The function exports and the imports of a module.
pub fn interface(bytes: &[u8], what: &str) -> Result<Interface> {
    check_magic(bytes, what)?;
    let mut types: Vec<Vec<String>> = Vec::new();
    let mut funcs: Vec<u32> = Vec::new();
    let mut out = Interface::default();
    let mut exports = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| anyhow!("{what}: malformed wasm: {e}"))? {
            Payload::TypeSection(s) => {
                for rg in s {
                    for ty in rg.map_err(|e| anyhow!("{what}: {e}"))?.types() {
                        types.push(match &ty.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => {
                                f.params().iter().map(|t| t.to_string()).collect()
                            }
                            _ => vec!["(not a function type)".into()],
                        });
                    }
                }
            }
            Payload::ImportSection(s) => {
                for imp in s {
                    let imp = imp.map_err(|e| anyhow!("{what}: {e}"))?;
                    let kind = match imp.ty {
                        wasmparser::TypeRef::Func(t) => {
                            funcs.push(t);
                            "function"
                        }
                        wasmparser::TypeRef::Memory(_) => "memory",
                        wasmparser::TypeRef::Table(_) => "table",
                        wasmparser::TypeRef::Global(_) => "global",
                        wasmparser::TypeRef::Tag(_) => "tag",
                    };
                    out.imports
                        .push((format!("{}.{}", imp.module, imp.name), kind));
                }
            }
            Payload::FunctionSection(s) => {
                for f in s {
                    funcs.push(f.map_err(|e| anyhow!("{what}: {e}"))?);
                }
            }
            Payload::ExportSection(s) => {
                for e in s {
                    let e = e.map_err(|e| anyhow!("{what}: {e}"))?;
                    if e.kind == wasmparser::ExternalKind::Func {
                        exports.push((e.name.to_string(), e.index));
                    }
                }
            }
            _ => {}
        }
    }
    for (name, index) in exports {
        let params = funcs
            .get(index as usize)
            .and_then(|t| types.get(*t as usize))
            .cloned()
            .ok_or_else(|| anyhow!("{what}: export `{name}` names no function"))?;
        out.functions.push(ExportedFn { name, params });
    }
    Ok(out)
}

// Per-entry readers for attribution: function and data entries, names,
// indirect calls, imports.

/// Per defined function: the bytes of its code-section entry (body with its
/// size prefix) plus its function-section entry (type index). twiggy counts
/// a function the same way. Also returns the two sections' own overhead
/// (section headers and counts), so everything adds up exactly.
pub struct FunctionBytes {
    pub per_function: Vec<u64>,
    pub bodies: Vec<u64>,
    /// Function + code section bytes not in any function.
    pub overhead: u64,
}

/// Bytes of each entry of a vector section, from one entry's offset to the
/// next (the last runs to the section's end).
fn entry_spans<'a, T: wasmparser::FromReader<'a>>(
    s: &wasmparser::SectionLimited<'a, T>,
) -> Result<Vec<u64>> {
    let mut starts = Vec::new();
    for e in s.clone().into_iter_with_offsets() {
        starts.push(e?.0);
    }
    let end = s.range().end;
    Ok(starts
        .iter()
        .enumerate()
        .map(|(i, st)| (starts.get(i + 1).copied().unwrap_or(end) - st) as u64)
        .collect())
}

pub fn entry_sizes(bytes: &[u8]) -> Result<FunctionBytes> {
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
                    let mut r =
                        wasmparser::BinaryReader::new(&bytes[range.start..range.end], range.start);
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
        bail!(
            "function section declares {} functions but the code section has {}",
            decls.len(),
            bodies.len()
        );
    }
    let per_function: Vec<u64> = bodies.iter().zip(&decls).map(|(b, d)| b + d).collect();
    let overhead = sections_total - per_function.iter().sum::<u64>();
    Ok(FunctionBytes {
        per_function,
        bodies,
        overhead,
    })
}

/// Per data segment: its bytes in the data section (entry and payload),
/// and what `each` makes of its payload. The section's own header and
/// count are the section size (from [`sections`]) minus these.
pub fn data_segments<T>(bytes: &[u8], each: impl Fn(&[u8]) -> T) -> Result<(Vec<u64>, Vec<T>)> {
    for p in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::Payload::DataSection(s) = p? {
            let made = s
                .clone()
                .into_iter()
                .map(|d| d.map(|d| each(d.data)))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok((entry_spans(&s)?, made));
        }
    }
    Ok((vec![], vec![]))
}

/// Which name map of the name section to read.
#[derive(Clone, Copy, PartialEq)]
pub enum NameKind {
    Function,
    Data,
}

/// Names from the name section (index -> name) of one kind, if any.
pub fn section_names(bytes: &[u8], kind: NameKind) -> BTreeMap<u32, String> {
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
pub fn export_names(bytes: &[u8]) -> BTreeMap<u32, String> {
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
pub struct IndirectCalls {
    pub types: Vec<u32>,
    pub calls: Vec<Vec<u32>>,
}

pub fn indirect_calls(bytes: &[u8]) -> IndirectCalls {
    let (mut types, mut calls) = (Vec::new(), Vec::new());
    for p in wasmparser::Parser::new(0).parse_all(bytes).flatten() {
        match p {
            wasmparser::Payload::FunctionSection(s) => types.extend(s.into_iter().flatten()),
            wasmparser::Payload::CodeSectionEntry(body) => {
                let mut called = Vec::new();
                if let Ok(mut ops) = body.get_operators_reader() {
                    while !ops.eof() {
                        match ops.read() {
                            Ok(wasmparser::Operator::CallIndirect { type_index, .. })
                            | Ok(wasmparser::Operator::ReturnCallIndirect { type_index, .. }) => {
                                called.push(type_index)
                            }
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

/// Functions the module imports (they come first in the function index space).
pub fn imported_functions(bytes: &[u8]) -> u32 {
    let mut n = 0;
    for p in wasmparser::Parser::new(0).parse_all(bytes).flatten() {
        if let wasmparser::Payload::ImportSection(s) = p {
            n += s
                .into_iter()
                .flatten()
                .filter(|i| matches!(i.ty, wasmparser::TypeRef::Func(_)))
                .count() as u32;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_is_renamed_in_place_and_nothing_else_moves() {
        // A memory exported as `main`, and one as `data`.
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend([0x05, 0x03, 0x01, 0x00, 0x01]);
        m.extend([0x07, 0x0f, 0x02, 0x04]);
        m.extend(b"main");
        m.extend([0x02, 0x00, 0x04]);
        m.extend(b"data");
        m.extend([0x02, 0x00]);
        let before = m.clone();
        assert!(rename_export(&mut m, "main", "_lt_").unwrap());
        assert_eq!(m.len(), before.len());
        let at = before.windows(4).position(|w| w == b"main").unwrap();
        assert_eq!(&m[at..at + 4], b"_lt_");
        let differ = m.iter().zip(&before).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 4);
        // Not there: nothing changes; a name of another length is refused.
        assert!(!rename_export(&mut m, "main", "_lt_").unwrap());
        assert!(rename_export(&mut m, "data", "dat").is_err());
    }

    #[test]
    fn interface_lists_function_exports_with_params_and_the_imports() {
        // (type (func (param i32 i64))) (import "env" "now" (func (type 0)))
        // (func (type 0)) (export "f" (func 1))
        let bytes: &[u8] = &[
            0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 6, 1, 0x60, 2, 0x7f, 0x7e, 0, 2, 11, 1, 3, b'e',
            b'n', b'v', 3, b'n', b'o', b'w', 0, 0, 3, 2, 1, 0, 7, 5, 1, 1, b'f', 0, 1, 10, 4, 1, 2,
            0, 0x0b,
        ];
        let i = interface(bytes, "t.wasm").unwrap();
        assert_eq!(
            i.functions,
            [ExportedFn {
                name: "f".into(),
                params: vec!["i32".into(), "i64".into()]
            }]
        );
        assert_eq!(i.imports, [("env.now".to_string(), "function")]);
    }

    #[test]
    fn rejects_non_wasm() {
        let err = check_magic(b"hello world", "x.wasm")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a WebAssembly module"), "{err}");
    }

    #[test]
    fn proposal_table_is_wired() {
        assert_eq!(proposal_of(&Operator::Nop), "mvp");
        assert_eq!(proposal_of(&Operator::MemoryFill { mem: 0 }), "bulk_memory");
        assert_eq!(proposal_of(&Operator::I32Extend8S), "sign_extension");
    }
}
