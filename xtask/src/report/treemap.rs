//! The attribution treemap: crate -> module path -> function, squarified,
//! with labels where they fit, click to zoom, a search box, and a diff mode
//! coloured by growth against the base.
//!
//! The tree is built here (pure, tested: it conserves the file's bytes);
//! the page draws it with a small inline script (`treemap.js`), so zooming
//! lays the chosen group out again at full size and its labels fit anew.
//! Nothing is fetched: the data sit in the page as JSON.

use crate::attribute::{module_of, Report};
use serde::Serialize;
use std::collections::BTreeMap;

/// Leaves smaller than this share of the file are folded, per group, into
/// one "(N smaller items)" leaf: a treemap of 5 000 slivers shows nothing,
/// and the page stays small. Sums are unchanged.
const FOLD_SHARE: f64 = 1.0 / 4000.0;

/// One cell: short keys, as the page carries every node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    /// Name (crate, module path or item).
    pub n: String,
    /// Bytes (shallow, summed over children).
    pub b: u64,
    /// Growth against the base in bytes (diff mode), when there is a base.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub d: Option<i64>,
    /// Children, largest first; empty for an item.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub c: Vec<Node>,
}

impl Node {
    fn group(n: String, mut c: Vec<Node>, diff: bool) -> Node {
        c.sort_by(|a, b| b.b.cmp(&a.b).then(a.n.cmp(&b.n)));
        let b = c.iter().map(|x| x.b).sum();
        let d = diff.then(|| c.iter().filter_map(|x| x.d).sum());
        Node { n, b, d, c }
    }
}

/// The tree of one module: functions under crate and module path; data,
/// sections and the rest under one group per kind.
pub fn tree(r: &Report) -> Node {
    let diff = r.diff.as_ref();
    let delta: BTreeMap<&str, i64> = diff
        .map(|d| d.items.iter().map(|x| (x.name.as_str(), x.delta)).collect())
        .unwrap_or_default();
    let fold = (r.file_bytes as f64 * FOLD_SHARE) as u64;
    let mut groups: BTreeMap<String, BTreeMap<String, Vec<Node>>> = BTreeMap::new();
    for i in &r.items {
        let (top, mid) = if i.kind == "function" {
            (i.krate.clone(), module_of(&i.name))
        } else {
            (format!("({})", kind_label(&i.kind)), String::new())
        };
        let leaf = Node {
            n: i.name.clone(),
            b: i.shallow_bytes,
            d: diff.map(|_| delta.get(i.name.as_str()).copied().unwrap_or(0)),
            c: vec![],
        };
        groups
            .entry(top)
            .or_default()
            .entry(mid)
            .or_default()
            .push(leaf);
    }
    let with_diff = diff.is_some();
    let fold_small = |leaves: Vec<Node>| -> Vec<Node> {
        let (keep, small): (Vec<Node>, Vec<Node>) = leaves.into_iter().partition(|l| l.b >= fold);
        if small.len() < 2 {
            return keep.into_iter().chain(small).collect();
        }
        let folded = Node {
            n: format!("({} smaller items)", small.len()),
            b: small.iter().map(|l| l.b).sum(),
            d: with_diff.then(|| small.iter().filter_map(|l| l.d).sum()),
            c: vec![],
        };
        keep.into_iter().chain(std::iter::once(folded)).collect()
    };
    let tops = groups
        .into_iter()
        .map(|(top, mids)| {
            // A group with only the root module (or none) lists its items directly.
            let children = if mids.len() == 1 && mids.contains_key("") {
                fold_small(mids.into_values().next().unwrap_or_default())
            } else {
                mids.into_iter()
                    .map(|(mid, leaves)| {
                        Node::group(
                            if mid.is_empty() {
                                "(crate root)".into()
                            } else {
                                mid
                            },
                            fold_small(leaves),
                            with_diff,
                        )
                    })
                    .collect()
            };
            Node::group(top, children, with_diff)
        })
        .collect();
    Node::group(r.file.clone(), tops, with_diff)
}

fn kind_label(kind: &str) -> &str {
    match kind {
        "data" => "data segments",
        "section" => "sections",
        "debug" => "debug info",
        other => other,
    }
}

/// The drawing script, once per page.
pub const SCRIPT: &str = include_str!("treemap.js");

/// One treemap: its container and its data. `id` must be unique in the page.
pub fn html(r: &Report, id: &str, width: u32, height: u32) -> String {
    let t = tree(r);
    let json = serde_json::to_string(&t)
        .expect("a tree serializes")
        .replace("</", "<\\/");
    let vanished = r
        .diff
        .as_ref()
        .map(|d| {
            d.items
                .iter()
                .filter(|x| x.change == "vanished")
                .map(|x| x.old_bytes)
                .sum::<u64>()
        })
        .unwrap_or(0);
    let diff_note = match &r.diff {
        Some(d) => format!(
            " <label><input type=\"checkbox\" class=\"tm-diff\"> colour by growth against {} ({:+} bytes{})</label>",
            super::html::esc(&d.against),
            d.new_bytes as i64 - d.old_bytes as i64,
            if vanished > 0 { format!("; {vanished} bytes of items that vanished are not drawn") } else { String::new() }
        ),
        None => String::new(),
    };
    format!(
        "<div class=\"tm\" id=\"{id}\" data-width=\"{width}\" data-height=\"{height}\">\
         <div class=\"tm-bar\"><input type=\"search\" class=\"tm-search\" placeholder=\"search functions, crates, data\" aria-label=\"search\"> \
         <span class=\"tm-found\"></span>{diff_note}</div>\
         <div class=\"tm-crumbs\"></div><div class=\"tm-svg\"></div>\
         <script type=\"application/json\" class=\"tm-data\">{json}</script></div>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures")
            .join(format!("{name}.wasm"))
    }

    fn sum_leaves(n: &Node) -> u64 {
        if n.c.is_empty() {
            n.b
        } else {
            n.c.iter().map(sum_leaves).sum()
        }
    }

    #[test]
    fn the_tree_nests_crate_module_function_and_conserves_bytes() {
        let r = crate::attribute::analyze(&fixture("named"), None).unwrap();
        let t = tree(&r);
        assert_eq!(t.b, r.file_bytes, "root = file bytes");
        assert_eq!(sum_leaves(&t), r.file_bytes, "leaves conserve bytes");
        fn check(n: &Node) {
            if !n.c.is_empty() {
                assert_eq!(n.b, n.c.iter().map(|c| c.b).sum::<u64>(), "{}", n.n);
                assert!(
                    n.c.windows(2).all(|w| w[0].b >= w[1].b),
                    "largest first in {}",
                    n.n
                );
                n.c.iter().for_each(check);
            }
        }
        check(&t);
        assert!(t.d.is_none(), "no base, no diff");
    }

    #[test]
    fn deltas_come_from_the_diff_and_small_items_fold() {
        let mut r = crate::attribute::analyze(&fixture("named"), None).unwrap();
        let old = crate::attribute::analyze(&fixture("stripped"), Some(&fixture("named"))).unwrap();
        r.diff = Some(crate::attribute::diff(&old, &r, "base.wasm"));
        let t = tree(&r);
        let expected: i64 = r
            .diff
            .as_ref()
            .unwrap()
            .items
            .iter()
            .filter(|x| x.change != "vanished")
            .map(|x| x.delta)
            .sum();
        assert_eq!(t.d, Some(expected));
        // Folding: a file of many 1-byte items keeps one "(N smaller items)" leaf per group.
        let mut big = r.clone();
        big.diff = None;
        big.file_bytes = 100_000;
        big.items = (0..50)
            .map(|i| crate::attribute::Item {
                name: format!("a::m::f{i}"),
                kind: "function".into(),
                shallow_bytes: 1,
                retained_bytes: 1,
                krate: "a".into(),
            })
            .collect();
        big.items.push(crate::attribute::Item {
            name: "a::m::big".into(),
            kind: "function".into(),
            shallow_bytes: 99_950,
            retained_bytes: 99_950,
            krate: "a".into(),
        });
        let t = tree(&big);
        let m = &t.c[0].c[0];
        assert_eq!((t.c[0].n.as_str(), m.n.as_str()), ("a", "m"));
        assert_eq!(m.c.len(), 2, "{m:?}");
        assert_eq!(
            (m.c[0].n.as_str(), m.c[1].n.as_str()),
            ("a::m::big", "(50 smaller items)")
        );
        assert_eq!(t.b, 100_000);
        // Items at the crate root are listed under the crate directly.
        big.items
            .iter_mut()
            .for_each(|i| i.name = i.name.replace("a::m::", "a::"));
        let t = tree(&big);
        assert_eq!(t.c[0].c[0].n, "a::big");
    }
}
