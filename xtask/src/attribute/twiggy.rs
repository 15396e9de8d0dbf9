//! Retained sizes and retaining paths from twiggy's IR, guarded against
//! its parser's panics.

use super::normalize_name;
use crate::wasmfile::indirect_calls;
use anyhow::{bail, Result};
use std::collections::BTreeMap;

/// Retained sizes in item order, and each named item's retaining paths.
pub(super) type RetainedAndPaths = (Vec<u64>, BTreeMap<String, Vec<String>>);

/// Items with twiggy. Runs twiggy's parser under `catch_unwind`: its old
/// wasmparser panics on some inputs instead of returning an error.
///
/// `code_names` names defined function i (the report's names, which may
/// come from exports where twiggy has only `code[i]`); paths are listed for
/// real items only (functions and data), never for sections.
///
/// Long by design: twiggy's items, their retained sizes and their retaining paths read in one walk of its graph.
pub(super) fn twiggy_items(
    bytes: &[u8],
    code_names: &[String],
    data_names: &[String],
) -> Result<RetainedAndPaths> {
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
    let code: Vec<twiggy_ir::Id> = items
        .iter()
        .filter(|it| matches!(it.kind(), twiggy_ir::ItemKind::Code(_)))
        .map(|it| it.id())
        .collect();
    let out: Vec<u64> = code
        .iter()
        .map(|id| items.retained_size(*id) as u64)
        .collect();
    // twiggy's data items are the data segments, in order, and the globals
    // (`global[N]`).
    let data: Vec<twiggy_ir::Id> = items
        .iter()
        .filter(|it| {
            matches!(it.kind(), twiggy_ir::ItemKind::Data(_)) && !it.name().starts_with("global[")
        })
        .map(|it| it.id())
        .collect();
    let name_of = |id: twiggy_ir::Id| -> String {
        let ours = code
            .iter()
            .position(|c| *c == id)
            .and_then(|i| code_names.get(i))
            .or_else(|| {
                data.iter()
                    .position(|d| *d == id)
                    .and_then(|i| data_names.get(i))
            });
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
    let through_table = |cur: twiggy_ir::Id,
                         seen: &std::collections::BTreeSet<twiggy_ir::Id>|
     -> Option<(u32, twiggy_ir::Id)> {
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
