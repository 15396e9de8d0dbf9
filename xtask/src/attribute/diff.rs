//! The attribution diff between a base and a candidate: rows by item,
//! crate and section, with renumbered data segments paired by content
//! (MinHash signatures).

use super::{Diff, DiffRow, Item, Report};
use std::collections::BTreeMap;

/// Hash functions in a data segment's signature.
pub(super) const SIGNATURE_LEN: usize = 32;

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
        Box::new(
            data.windows(8)
                .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes"))),
        )
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
pub(super) fn resemblance(a: &[u64], b: &[u64]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len().max(1) as f64
}

pub(super) fn diff_rows(old: BTreeMap<String, u64>, new: BTreeMap<String, u64>) -> Vec<DiffRow> {
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
            Some(DiffRow {
                name: k.clone(),
                old_bytes: ob,
                new_bytes: nb,
                delta: nb as i64 - ob as i64,
                change: change.into(),
            })
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
    let crate_key = |i: &Item| {
        Some(if i.kind == "function" {
            i.krate.clone()
        } else {
            format!("({})", i.kind)
        })
    };
    let item_key = |i: &Item| Some(i.name.clone());
    Diff {
        against: against.into(),
        old_bytes: old.file_bytes,
        new_bytes: new.file_bytes,
        crates: diff_rows(sum_by(old, &crate_key), sum_by(new, &crate_key)),
        items: pair_renumbered_data(
            diff_rows(sum_by(old, &item_key), sum_by(new, &item_key)),
            old,
            new,
        ),
    }
}

/// Content two data segments must share (estimated) to be one segment the
/// linker renumbered.
pub(super) const SAME_SEGMENT: f64 = 0.5;

/// A data segment that "vanished" and one that "appeared" are one segment
/// renumbered when their bytes mostly agree (`.rodata.66` -12363 and
/// `.rodata.64` +11264 were one table): pair them, most alike first, into
/// one row under the new name that says the old one; a pair of the same
/// size is unchanged and has no row.
pub(super) fn pair_renumbered_data(rows: Vec<DiffRow>, old: &Report, new: &Report) -> Vec<DiffRow> {
    let (mut gone, mut came, mut rest): (Vec<DiffRow>, Vec<DiffRow>, Vec<DiffRow>) =
        (vec![], vec![], vec![]);
    for r in rows {
        match (
            r.change.as_str(),
            old.data_signatures.get(&r.name),
            new.data_signatures.get(&r.name),
        ) {
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
            name: format!(
                "{} (was {}, {:.0} % alike)",
                c.name,
                g.name.trim_start_matches("data segment "),
                sim * 100.0
            ),
            old_bytes: g.old_bytes,
            new_bytes: c.new_bytes,
            delta,
            change: how.into(),
        });
    }
    rest.extend(
        gone.into_iter()
            .zip(used_g)
            .filter(|(_, u)| !u)
            .map(|(r, _)| r),
    );
    rest.extend(
        came.into_iter()
            .zip(used_c)
            .filter(|(_, u)| !u)
            .map(|(r, _)| r),
    );
    rest.sort_by(|a, b| b.delta.abs().cmp(&a.delta.abs()).then(a.name.cmp(&b.name)));
    rest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::analyze;

    #[test]
    fn a_renumbered_data_segment_is_paired_by_content() {
        // A table of 12363 bytes moves from .rodata.66 to .rodata.64 and
        // loses 1099 bytes; an unrelated segment appears beside it.
        let table: Vec<u8> = (0..12363u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let other: Vec<u8> = (0..4000u32)
            .map(|i| (i.wrapping_mul(40503) >> 5) as u8 ^ 0x5a)
            .collect();
        let mk = |segs: &[(&str, &[u8])]| {
            let mut r = analyze(
                &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../tests/fixtures/named.wasm"),
                None,
            )
            .unwrap();
            r.items.retain(|i| i.kind != "data");
            r.data_signatures.clear();
            for (n, d) in segs {
                let name = format!("data segment {n}");
                r.items.push(Item {
                    name: name.clone(),
                    kind: "data".into(),
                    shallow_bytes: d.len() as u64,
                    retained_bytes: d.len() as u64,
                    krate: String::new(),
                });
                r.data_signatures.insert(name, signature(d));
            }
            r
        };
        let old = mk(&[(".rodata.66", &table)]);
        let new = mk(&[(".rodata.64", &table[..11264]), (".rodata.65", &other)]);
        let d = diff(&old, &new, "base");
        let data: Vec<&DiffRow> = d
            .items
            .iter()
            .filter(|r| r.name.starts_with("data segment"))
            .collect();
        assert_eq!(data.len(), 2, "{data:#?}");
        let moved = data
            .iter()
            .find(|r| {
                r.name
                    .starts_with("data segment .rodata.64 (was .rodata.66")
            })
            .expect("paired");
        assert_eq!(
            (
                moved.old_bytes,
                moved.new_bytes,
                moved.delta,
                moved.change.as_str()
            ),
            (12363, 11264, -1099, "shrank")
        );
        let fresh = data
            .iter()
            .find(|r| r.name == "data segment .rodata.65")
            .expect("the unrelated one stays new");
        assert_eq!(fresh.change, "appeared");
        // Renumbered with the same bytes: unchanged, no row at all.
        let same = diff(
            &mk(&[(".rodata.66", &table)]),
            &mk(&[(".rodata.64", &table)]),
            "base",
        );
        assert!(
            same.items
                .iter()
                .all(|r| !r.name.starts_with("data segment")),
            "{:#?}",
            same.items
        );
        assert!(
            same.crates.iter().all(|r| r.name != "(data)"),
            "{:#?}",
            same.crates
        );
        // Unalike bytes never pair.
        assert!(resemblance(&signature(&table), &signature(&other)) < SAME_SEGMENT);
        assert!(resemblance(&signature(&table), &signature(&table[..11264])) > 0.8);
    }

    #[test]
    fn diff_classifies() {
        let old = BTreeMap::from([
            ("a".to_string(), 10u64),
            ("b".to_string(), 5),
            ("c".to_string(), 7),
        ]);
        let new = BTreeMap::from([
            ("a".to_string(), 12u64),
            ("b".to_string(), 5),
            ("d".to_string(), 1),
        ]);
        let rows = diff_rows(old, new);
        let by: BTreeMap<_, _> = rows
            .iter()
            .map(|r| (r.name.as_str(), r.change.as_str()))
            .collect();
        assert_eq!(
            by,
            BTreeMap::from([("a", "grew"), ("c", "vanished"), ("d", "appeared")])
        );
    }
}
