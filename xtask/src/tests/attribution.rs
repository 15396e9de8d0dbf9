//! Attribution of the fixture modules: bytes conserved, names through a
//! twin or exports, agreement with twiggy.

use super::common::root;
use super::reports::golden;

const FIXTURES: &[&str] = &[
    "named",
    "stripped",
    "simd-bulk",
    "dwarf",
    "wide-arith",
    "data-only",
    "wasm-bindgen_bg",
];

pub(super) fn fixture(name: &str) -> std::path::PathBuf {
    root().join("tests/fixtures").join(format!("{name}.wasm"))
}

#[test]
fn golden_attribution_of_every_fixture_conserves_bytes() {
    for name in FIXTURES {
        let r = crate::attribute::analyze(&fixture(name), None).unwrap();
        assert_eq!(r.attributed_bytes, r.file_bytes, "{name}: conservation");
        assert_eq!(
            r.items.iter().map(|i| i.shallow_bytes).sum::<u64>(),
            r.file_bytes,
            "{name}"
        );
        assert_eq!(
            r.sections.iter().map(|s| s.bytes).sum::<u64>() + 8,
            r.file_bytes,
            "{name}: sections"
        );
        let mut md = crate::report::attribution::markdown(&r, 15);
        // The path is the machine's; keep goldens portable.
        md = md.replace(&root().display().to_string(), "<root>");
        golden(&format!("attribution/{name}.md"), &md);
        let json = serde_json::to_string_pretty(&r)
            .unwrap()
            .replace(&root().display().to_string(), "<root>");
        golden(&format!("attribution/{name}.json"), &(json + "\n"));
    }
    // Degraded mode is said, not hidden.
    let r = crate::attribute::analyze(&fixture("data-only"), None).unwrap();
    assert_eq!(r.mode, "degraded");
    assert!(r.note.contains("degraded"));
    // DWARF is counted as debug bytes.
    let r = crate::attribute::analyze(&fixture("dwarf"), None).unwrap();
    assert!(
        r.items
            .iter()
            .filter(|i| i.kind == "debug")
            .map(|i| i.shallow_bytes)
            .sum::<u64>()
            > 500_000
    );
}

#[test]
fn stripped_module_is_named_through_its_twin() {
    let r = crate::attribute::analyze(&fixture("stripped"), Some(&fixture("named"))).unwrap();
    assert!(r.twin_mismatches.is_empty(), "{:?}", r.twin_mismatches);
    assert!(
        r.items.iter().any(|i| i.name.contains("fixture_sum")),
        "names came from the twin"
    );
    assert_eq!(r.attributed_bytes, r.file_bytes);
    // A twin that does not match is reported, not trusted.
    let r = crate::attribute::analyze(&fixture("stripped"), Some(&fixture("simd-bulk"))).unwrap();
    assert!(!r.twin_mismatches.is_empty());
    assert!(
        r.items
            .iter()
            .filter(|i| i.kind == "function")
            .all(|i| !i.name.contains("::")),
        "no twin names: {:?}",
        r.items
    );
}

/// With no name section and no twin, exported functions carry
/// their export names, and "what keeps it alive" lists real items only.
#[test]
fn stripped_module_without_a_twin_is_named_by_its_exports() {
    let r = crate::attribute::analyze(&fixture("stripped"), None).unwrap();
    let fns: Vec<&str> = r
        .items
        .iter()
        .filter(|i| i.kind == "function")
        .map(|i| i.name.as_str())
        .collect();
    assert!(
        fns.contains(&"fixture_sum") && fns.contains(&"fixture_copy"),
        "{fns:?}"
    );
    assert!(
        r.note.contains("are named by their export names"),
        "{}",
        r.note
    );
    assert_eq!(r.attributed_bytes, r.file_bytes, "conservation holds");
    for (item, path) in &r.paths {
        assert!(
            !["code", "elem", "table", "data", "memory"].contains(&item.as_str())
                && !item.starts_with("section"),
            "a section listed as an item: {item} <- {path:?}"
        );
    }
    assert!(
        r.paths
            .keys()
            .all(|k| fns.contains(&k.as_str()) || k.starts_with("data")),
        "{:?}",
        r.paths.keys().collect::<Vec<_>>()
    );
}

/// Shallow and retained sizes agree with twiggy's own analyses (its IR:
/// the items `twiggy top` lists and the retained sizes `twiggy dominators`
/// prints) on every fixture twiggy can parse.
#[test]
fn agrees_with_twiggy_top_and_dominators() {
    for name in [
        "named",
        "simd-bulk",
        "dwarf",
        "wide-arith",
        "wasm-bindgen_bg",
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let mut items = twiggy_parser::parse(&bytes).unwrap();
        items.compute_retained_sizes();
        let mut theirs: Vec<(String, u64, u64)> = items
            .iter()
            .filter_map(|i| match i.kind() {
                twiggy_ir::ItemKind::Code(_) => Some((
                    crate::attribute::normalize_name(i.name()),
                    i.size() as u64,
                    items.retained_size(i.id()) as u64,
                )),
                _ => None,
            })
            .collect();
        theirs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let ours = crate::attribute::analyze(&fixture(name), None).unwrap();
        assert_eq!(ours.mode, "twiggy", "{name}");
        // Same name can be several monomorphizations: compare, per name,
        // the sorted (shallow, retained) pairs.
        let pairs = |v: Vec<(u64, u64)>| {
            let mut v = v;
            v.sort();
            v
        };
        for (n, _, _) in theirs.iter().take(10) {
            let t = pairs(
                theirs
                    .iter()
                    .filter(|x| &x.0 == n)
                    .map(|x| (x.1, x.2))
                    .collect(),
            );
            let o = pairs(
                ours.items
                    .iter()
                    .filter(|i| &i.name == n)
                    .map(|i| (i.shallow_bytes, i.retained_bytes))
                    .collect(),
            );
            assert_eq!(o, t, "{name}: (shallow, retained) of {n}, ours vs twiggy");
        }
    }
}
