//! Where each key of a TOML document sits: dotted key -> byte span, read
//! from toml_edit's parse of the same text. Config errors use it to name the
//! exact line of `environment.mobile.cpu_throttle`, not the first line that
//! happens to start with `cpu_throttle`. It also lists every non-finite
//! float (`nan`, `inf`), which TOML accepts and no budget can mean.

use std::collections::BTreeMap;
use std::ops::Range;
use toml_edit::{ImDocument, InlineTable, Item, Table, Value};

#[derive(Debug, Default)]
pub struct Spans {
    /// Dotted key (`metric[3].hard.core-min`, `protocol.seeds[1]`) -> span
    /// of the key (or of the value, where the key has none).
    spans: BTreeMap<String, Range<usize>>,
    /// Non-finite floats: their dotted keys and spans, in document order.
    nonfinite: Vec<(String, Range<usize>)>,
}

/// 1-based line of a byte offset.
pub fn line_of(src: &str, offset: usize) -> usize {
    src[..offset.min(src.len())].matches('\n').count() + 1
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

impl Spans {
    /// The spans of `src`; empty when it does not parse (the serde parse
    /// reports that error with its own span).
    pub fn of(src: &str) -> Spans {
        let mut s = Spans::default();
        if let Ok(doc) = ImDocument::parse(src) {
            s.table("", doc.as_table());
        }
        s
    }

    pub fn get(&self, key: &str) -> Option<Range<usize>> {
        self.spans.get(key).cloned()
    }

    /// 1-based line of a dotted key.
    pub fn line(&self, src: &str, key: &str) -> Option<usize> {
        self.get(key).map(|s| line_of(src, s.start))
    }

    pub fn nonfinite(&self) -> &[(String, Range<usize>)] {
        &self.nonfinite
    }

    fn note(&mut self, path: &str, span: Option<Range<usize>>) {
        if let Some(s) = span {
            self.spans.insert(path.to_string(), s);
        }
    }

    fn table(&mut self, prefix: &str, t: &Table) {
        for (k, item) in t.iter() {
            let path = join(prefix, k);
            self.note(
                &path,
                t.key(k).and_then(|k| k.span()).or_else(|| item.span()),
            );
            match item {
                Item::Table(inner) => self.table(&path, inner),
                Item::ArrayOfTables(a) => {
                    for (i, inner) in a.iter().enumerate() {
                        let p = format!("{path}[{i}]");
                        self.note(&p, inner.span());
                        self.table(&p, inner);
                    }
                }
                Item::Value(v) => self.value(&path, v),
                Item::None => {}
            }
        }
    }

    fn inline(&mut self, prefix: &str, t: &InlineTable) {
        for (k, v) in t.iter() {
            let path = join(prefix, k);
            self.note(&path, t.key(k).and_then(|k| k.span()).or_else(|| v.span()));
            self.value(&path, v);
        }
    }

    fn value(&mut self, path: &str, v: &Value) {
        match v {
            Value::Float(f) if !f.value().is_finite() => {
                let span = v.span().or_else(|| self.get(path)).unwrap_or(0..0);
                self.nonfinite.push((path.to_string(), span));
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    self.note(&p, x.span());
                    self.value(&p, x);
                }
            }
            Value::InlineTable(t) => self.inline(path, t),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_nested_keys_by_their_own_line() {
        let src = "[environment.desktop]\ncpu_throttle = 1.0\n\n[environment.mobile]\ncpu_throttle = 4.0\n\n[[metric]]\nid = \"A\"\nhard = { x = 1, y = 2 }\n[[metric]]\nid = \"B\"\nhard = { x = 3 }\n";
        let s = Spans::of(src);
        assert_eq!(s.line(src, "environment.desktop.cpu_throttle"), Some(2));
        assert_eq!(s.line(src, "environment.mobile.cpu_throttle"), Some(5));
        assert_eq!(s.line(src, "metric[1].hard.x"), Some(12));
        assert_eq!(s.line(src, "metric[0].hard.y"), Some(9));
        assert!(s.nonfinite().is_empty());
    }

    #[test]
    fn finds_every_non_finite_float() {
        let src = "[a]\nx = nan\ny = [1.0, -inf]\nz = { w = +inf }\nok = 2.5\n";
        let s = Spans::of(src);
        let keys: Vec<(&str, usize)> = s
            .nonfinite()
            .iter()
            .map(|(k, sp)| (k.as_str(), line_of(src, sp.start)))
            .collect();
        assert_eq!(keys, vec![("a.x", 2), ("a.y[1]", 3), ("a.z.w", 4)]);
    }
}
