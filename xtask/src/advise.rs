//! Size advice, measured (pure): which variants of a profile to build, the
//! advice attribution gives, and the tables `cargo xtask advise` writes.
//! `cmd/advise.rs` builds the variants and measures them; everything here
//! is tested on fixed settings and fixed attribution.

use crate::attribute::Report;
use crate::optimize::WasmOptPosture;
use serde::Serialize;

/// A profile's effective cargo settings (after `inherits`), as the build
/// will see them; `None` is cargo's default for the profile.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    pub opt_level: Option<String>,
    pub lto: Option<String>,
    pub codegen_units: Option<i64>,
    pub panic: Option<String>,
}

/// One setting a variant changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Knob {
    /// A cargo profile setting, passed with `--config`.
    Cargo { key: String, value: String },
    /// wasm-opt's optimization level.
    WasmOptLevel { level: String },
    /// wasm-opt run to convergence.
    Converge,
    /// Strip the name section and debug info from the shipped file.
    StripNames,
    /// Strip the producers section.
    StripProducers,
}

/// One variant: a single change from the profile as configured, or a
/// remedy that cannot be tried here (with why).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Variant {
    /// What changes, as a reader would write it: `opt-level = "s"`.
    pub name: String,
    /// From what: `"z" as configured`.
    pub from: String,
    pub knob: Option<Knob>,
    /// Why it is not tried (needs nightly, needs a source edit).
    pub not_tried: Option<String>,
}

impl Variant {
    fn tried(name: &str, from: &str, knob: Knob) -> Variant {
        Variant {
            name: name.into(),
            from: from.into(),
            knob: Some(knob),
            not_tried: None,
        }
    }

    /// Does it need its own cargo build (else it reuses the profile's)?
    pub fn rebuilds(&self) -> bool {
        matches!(self.knob, Some(Knob::Cargo { .. }))
    }
}

fn shown(v: &Option<String>, default: &str) -> String {
    match v {
        Some(v) => format!("{v:?} as configured"),
        None => format!("{default:?}, cargo's release default"),
    }
}

/// The standard remedies for one profile, each a single change from it;
/// those already in place are not listed. `nightly`: the subject's
/// toolchain is a nightly one (build-std needs it).
pub fn variants(s: &Settings, w: &WasmOptPosture, nightly: bool) -> Vec<Variant> {
    let mut v = Vec::new();
    let opt = s.opt_level.as_deref().unwrap_or("3");
    for level in ["z", "s"] {
        if opt != level {
            v.push(Variant::tried(
                &format!("opt-level = \"{level}\""),
                &shown(&s.opt_level, "3"),
                Knob::Cargo {
                    key: "opt-level".into(),
                    value: format!("\"{level}\""),
                },
            ));
        }
    }
    if !matches!(s.lto.as_deref(), Some("fat" | "true")) {
        v.push(Variant::tried(
            "lto = \"fat\"",
            &shown(&s.lto, "false"),
            Knob::Cargo {
                key: "lto".into(),
                value: "\"fat\"".into(),
            },
        ));
    }
    if s.codegen_units != Some(1) {
        v.push(Variant::tried(
            "codegen-units = 1",
            &match s.codegen_units {
                Some(n) => format!("{n} as configured"),
                None => "16, cargo's release default".into(),
            },
            Knob::Cargo {
                key: "codegen-units".into(),
                value: "1".into(),
            },
        ));
    }
    if s.panic.as_deref() != Some("abort") {
        v.push(Variant::tried(
            "panic = \"abort\"",
            &shown(&s.panic, "unwind"),
            Knob::Cargo {
                key: "panic".into(),
                value: "\"abort\"".into(),
            },
        ));
    }
    v.push(Variant {
        name: "-Z build-std with panic_immediate_abort".into(),
        from: "the prebuilt standard library".into(),
        knob: None,
        not_tried: Some(if nightly {
            "rebuilding the standard library needs the rust-src component and changes the \
             whole build; try it by hand: cargo +nightly build -Z build-std=std,panic_abort \
             -Z build-std-features=panic_immediate_abort"
                .into()
        } else {
            "needs a nightly toolchain (-Z build-std); the subject builds with a stable one".into()
        }),
    });
    if w.enabled {
        for level in ["z", "s", "3"] {
            if w.level != level {
                v.push(Variant::tried(
                    &format!("wasm-opt -O{level}"),
                    &format!("-O{} as configured", w.level),
                    Knob::WasmOptLevel {
                        level: level.into(),
                    },
                ));
            }
        }
        if !w.converge {
            v.push(Variant::tried(
                "wasm-opt --converge",
                "one pass of the level",
                Knob::Converge,
            ));
        }
        if !w.strip_debug {
            v.push(Variant::tried(
                "strip the names section",
                "names kept",
                Knob::StripNames,
            ));
        }
        if !w.strip_producers {
            v.push(Variant::tried(
                "strip the producers section",
                "producers kept",
                Knob::StripProducers,
            ));
        }
    } else {
        v.push(Variant::tried(
            "wasm-opt -Oz",
            "wasm-opt off as configured",
            Knob::WasmOptLevel { level: "z".into() },
        ));
    }
    v
}

/// The posture a wasm-opt variant optimizes with.
pub fn posture_for(w: &WasmOptPosture, knob: &Knob) -> WasmOptPosture {
    let mut p = w.clone();
    match knob {
        Knob::WasmOptLevel { level } => {
            p.enabled = true;
            p.level = level.clone();
        }
        Knob::Converge => p.converge = true,
        Knob::StripNames => p.strip_debug = true,
        Knob::StripProducers => p.strip_producers = true,
        Knob::Cargo { .. } => {}
    }
    p
}

impl Knob {
    /// Does it change sections only (no code), so the sections say where
    /// the bytes went rather than the crates?
    pub fn sections_only(&self) -> bool {
        matches!(self, Knob::StripNames | Knob::StripProducers)
    }
}

/// The sections whose size changed, `(section, new - old)`, largest change
/// first; a section that went reads as its whole size, negative.
pub fn section_deltas(old: &[(String, u64)], new: &[(String, u64)]) -> Vec<(String, i64)> {
    let size = |list: &[(String, u64)], name: &str| {
        list.iter()
            .filter(|(n, _)| n == name)
            .map(|(_, b)| *b as i64)
            .sum::<i64>()
    };
    let mut names: Vec<&String> = old.iter().chain(new).map(|(n, _)| n).collect();
    names.sort();
    names.dedup();
    let mut out: Vec<(String, i64)> = names
        .into_iter()
        .map(|n| (format!("section {n}"), size(new, n) - size(old, n)))
        .filter(|(_, d)| *d != 0)
        .collect();
    out.sort_by_key(|(_, d)| -d.abs());
    out
}

/// Raw, gzip and brotli bytes of one shipped module.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bytes {
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
}

/// What one variant measured against the profile as configured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tried {
    pub variant: Variant,
    /// Its sizes, when it built.
    pub bytes: Option<Bytes>,
    /// The first error line, when it did not build.
    pub error: Option<String>,
    /// Where the bytes went: the crates that changed most (crate, delta).
    pub crates: Vec<(String, i64)>,
    /// Cold init measured live against the profile as configured
    /// (`--timing`), one per cold-init metric timed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timing: Vec<Timing>,
}

/// One cold-init metric of a variant, measured live (the gate's A/B: the
/// variant is the candidate, the profile as configured the base).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timing {
    pub metric: String,
    pub environment: String,
    /// Variant / profile of the metric's statistic, with its 95 % interval;
    /// None when the bytes are the profile's own (nothing to measure).
    pub ratio: Option<crate::stats::Interval>,
    /// The gate's verdict on it (`regressed` past the metric's limit).
    pub verdict: String,
    pub blocks: u32,
}

impl Timing {
    /// In words for a table cell: "x0.93 [0.90, 0.96], faster".
    pub fn words(&self) -> String {
        let Some(r) = &self.ratio else {
            return "same bytes as configured".into();
        };
        let direction = if r.hi < 1.0 {
            "faster"
        } else if r.lo > 1.0 {
            "slower"
        } else {
            "no clear change"
        };
        let gate = if self.verdict == "regressed" {
            ", past the gate's limit"
        } else {
            ""
        };
        format!(
            "x{:.3} [{:.3}, {:.3}], {direction}{gate}",
            r.point, r.lo, r.hi
        )
    }
}

impl Tried {
    /// Gzip bytes saved against `base` (negative: it grew).
    pub fn saving(&self, base: &Bytes) -> Option<i64> {
        self.bytes.map(|b| base.gzip as i64 - b.gzip as i64)
    }
}

/// One piece of advice from attribution: what, its measured bytes, and
/// the standard remedy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Advice {
    pub what: String,
    pub bytes: u64,
    pub remedy: String,
}

/// Thresholds of the advice rules.
pub const FMT_SHARE: f64 = 0.05;
pub const MONO_BYTES: u64 = 1024;
pub const ALLOCATOR_SHARE: f64 = 0.10;
pub const DATA_BYTES: u64 = 1024;
/// Allocator crates by name.
const ALLOCATORS: &[&str] = &["dlmalloc", "wee_alloc", "lol_alloc", "talc", "buddy_alloc"];

/// Advice from one profile's attribution, largest first. `exports`: the
/// module's export names (the roots that keep code alive).
pub fn from_attribution(r: &Report, exports: &[String]) -> Vec<Advice> {
    let total = r.file_bytes.max(1) as f64;
    let mut out = Vec::new();
    let fmt: u64 = r
        .items
        .iter()
        .filter(|i| i.kind == "function" && i.name.contains("core::fmt"))
        .map(|i| i.shallow_bytes)
        .sum();
    if fmt as f64 > FMT_SHARE * total {
        out.push(Advice {
            what: format!(
                "formatting machinery (core::fmt): {:.1} % of the module",
                100.0 * fmt as f64 / total
            ),
            bytes: fmt,
            remedy: "keep Debug/Display and format! off shipped paths (panics with messages, \
                     unwrap on Result<_, E: Debug>, expect); panic = \"abort\" and, on nightly, \
                     panic_immediate_abort remove the panic messages' formatting"
                .into(),
        });
    }
    for c in &r.crates {
        if ALLOCATORS.contains(&c.krate.as_str()) && c.bytes as f64 > ALLOCATOR_SHARE * total {
            out.push(Advice {
                what: format!(
                    "allocator {}: {:.1} % of the module",
                    c.krate,
                    100.0 * c.bytes as f64 / total
                ),
                bytes: c.bytes,
                remedy: "a smaller allocator (a bump or free-list allocator such as lol_alloc or \
                         talc) where the allocation pattern allows, or fewer allocations"
                    .into(),
            });
        }
    }
    let monos: Vec<_> = r
        .monomorphizations
        .iter()
        .filter(|m| m.bytes > MONO_BYTES)
        .collect();
    for m in monos.iter().take(PER_RULE) {
        out.push(Advice {
            what: format!(
                "generic {} in {} instantiations",
                m.generic, m.instantiations
            ),
            bytes: m.bytes,
            remedy:
                "move the body behind a non-generic inner function (fn f<T: AsRef<[u8]>>(x: T) \
                     { inner(x.as_ref()) }), or take &dyn Trait where the call is not hot"
                    .into(),
        });
    }
    out.extend(rest(&monos, |m| m.bytes, "more generics over 1 KiB"));
    let mut data: Vec<_> = r
        .items
        .iter()
        .filter(|i| i.kind == "data" && i.shallow_bytes > DATA_BYTES)
        .collect();
    data.sort_by_key(|d| std::cmp::Reverse(d.shallow_bytes));
    for d in data.iter().take(PER_RULE) {
        out.push(Advice {
            what: format!("data: {}", d.name),
            bytes: d.shallow_bytes,
            remedy: "large constant tables and strings: compress them, compute them at start, \
                     or fetch them; panic and format strings shrink with panic = \"abort\""
                .into(),
        });
    }
    out.extend(rest(
        &data,
        |d| d.shallow_bytes,
        "more data segments over 1 KiB",
    ));
    let mut roots: Vec<&crate::attribute::Item> = r
        .items
        .iter()
        .filter(|i| i.kind == "function" && exports.contains(&i.name))
        .collect();
    roots.sort_by_key(|e| std::cmp::Reverse(e.retained_bytes));
    for e in roots.into_iter().take(3) {
        out.push(Advice {
            what: format!("export {} keeps code alive", e.name),
            bytes: e.retained_bytes,
            remedy: "an export that is not needed in this profile can go behind a feature; \
                     what only it reaches leaves with it"
                .into(),
        });
    }
    out.sort_by_key(|a| std::cmp::Reverse(a.bytes));
    out
}

/// The most lines one rule gives; the rest are summed in one line.
pub const PER_RULE: usize = 5;

/// One line for what a rule found beyond its first [`PER_RULE`].
fn rest<T>(found: &[T], bytes: impl Fn(&T) -> u64, what: &str) -> Option<Advice> {
    let more = found.get(PER_RULE..).filter(|m| !m.is_empty())?;
    Some(Advice {
        what: format!("{} {what}", more.len()),
        bytes: more.iter().map(bytes).sum(),
        remedy: "the same remedies; attribution lists each (reports/attribution/)".into(),
    })
}

/// One profile's advice, for the reports.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileAdvice {
    pub profile: String,
    pub base: Bytes,
    pub tried: Vec<Tried>,
    pub advice: Vec<Advice>,
    /// cargo builds this profile's variants cost.
    pub builds: usize,
}

fn kib(b: i64) -> String {
    format!("{:+.1} KiB", b as f64 / 1024.0)
}

/// `advice.md`: per profile, the variants (best gzip saving first), then
/// the advice from attribution.
pub fn markdown(all: &[ProfileAdvice]) -> String {
    let mut s = String::from("# Size advice\n\nEach variant changes one setting of the profile as configured and was built and measured here; savings are against that profile (negative: smaller). Nothing in the crate was edited.\n");
    for p in all {
        let timed = timing_header(p);
        s += &format!(
            "\n## {}\n\nAs configured: {} raw, {} gzip, {} brotli ({} cargo build(s) for the variants).{}\n\n| variant | instead of | raw | gzip | brotli | where the bytes went |{}\n|---|---|---:|---:|---:|---|{}\n",
            p.profile,
            bytes(p.base.raw),
            bytes(p.base.gzip),
            bytes(p.base.brotli),
            p.builds,
            if timed.is_some() {
                " Cold init was measured live, each variant against the profile as configured in one browser session (the gate's A/B: the ratio of p95s with its 95 % interval; \"no clear change\" when the interval holds 1)."
            } else {
                ""
            },
            timed.as_ref().map(|h| format!(" {h} |")).unwrap_or_default(),
            if timed.is_some() { "---|" } else { "" },
        );
        let mut rows: Vec<&Tried> = p.tried.iter().collect();
        rows.sort_by_key(|t| {
            (
                t.bytes.is_none(),
                t.saving(&p.base).map(|s| -s).unwrap_or(0),
            )
        });
        for t in rows {
            let cell = |f: fn(&Bytes) -> u64| match t.bytes {
                Some(b) => kib(f(&b) as i64 - f(&p.base) as i64),
                None => "-".into(),
            };
            let note = match (&t.error, &t.variant.not_tried) {
                (Some(e), _) => format!("did not build: {e}"),
                (_, Some(why)) => format!("not tried: {why}"),
                _ => t
                    .crates
                    .iter()
                    .map(|(c, d)| format!("{c} {}", kib(*d)))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            s += &format!(
                "| {} | {} | {} | {} | {} | {} |{}\n",
                t.variant.name,
                t.variant.from,
                cell(|b| b.raw),
                cell(|b| b.gzip),
                cell(|b| b.brotli),
                note,
                if timed.is_some() {
                    format!(" {} |", timing_cell(t))
                } else {
                    String::new()
                }
            );
        }
        if !p.advice.is_empty() {
            s += "\nFrom attribution (the shipped module as configured):\n\n";
            for a in &p.advice {
                s += &format!("- {} ({}): {}\n", a.what, bytes(a.bytes), a.remedy);
            }
        }
    }
    s
}

/// The timing column's header when any variant of `p` was timed:
/// "cold init (M-PERF-02A, desktop)".
fn timing_header(p: &ProfileAdvice) -> Option<String> {
    let mut keys: Vec<String> = p
        .tried
        .iter()
        .flat_map(|t| &t.timing)
        .map(|m| format!("{}, {}", m.metric, m.environment))
        .collect();
    keys.dedup();
    (!keys.is_empty()).then(|| format!("cold init ({})", keys.join("; ")))
}

/// A variant's timing cell: its ratios in words, or why there are none.
fn timing_cell(t: &Tried) -> String {
    if t.timing.is_empty() {
        return "-".into();
    }
    t.timing
        .iter()
        .map(Timing::words)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The advice as a section of report.html (`<section id="advice">`).
pub fn html(all: &[ProfileAdvice]) -> String {
    use crate::util::html_escape as esc;
    let mut s = String::from("<section id=\"advice\"><h2>Size advice (cargo xtask advise)</h2><p>Each variant changes one setting of the profile as configured; built and measured, nothing in the crate edited. Gzip saving against the profile.</p>");
    for p in all {
        s += &format!(
            "<h3>{}</h3><table><tr><th>variant</th><th>instead of</th><th>gzip</th><th>note</th>{}</tr>",
            esc(&p.profile),
            timing_header(p)
                .map(|h| format!("<th>{}</th>", esc(&h)))
                .unwrap_or_default()
        );
        let timed = timing_header(p).is_some();
        for t in &p.tried {
            let gzip = t
                .bytes
                .map(|b| kib(b.gzip as i64 - p.base.gzip as i64))
                .unwrap_or_else(|| "-".into());
            let note = t
                .error
                .as_ref()
                .map(|e| format!("did not build: {e}"))
                .or_else(|| {
                    t.variant
                        .not_tried
                        .as_ref()
                        .map(|w| format!("not tried: {w}"))
                })
                .unwrap_or_default();
            s += &format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}</tr>",
                esc(&t.variant.name),
                esc(&t.variant.from),
                gzip,
                esc(&note),
                if timed {
                    format!("<td>{}</td>", esc(&timing_cell(t)))
                } else {
                    String::new()
                }
            );
        }
        s += "</table><ul>";
        for a in &p.advice {
            s += &format!(
                "<li>{} ({}): {}</li>",
                esc(&a.what),
                bytes(a.bytes),
                esc(&a.remedy)
            );
        }
        s += "</ul>";
    }
    s + "</section>"
}

/// `page` (a report.html) with the advice section in place of an earlier
/// one, else before `</body>`; None when the page has no body end.
pub fn into_page(page: &str, section: &str) -> Option<String> {
    const START: &str = "<section id=\"advice\">";
    if let Some(a) = page.find(START) {
        let end = a + page[a..].find("</section>")? + "</section>".len();
        return Some(format!("{}{section}{}", &page[..a], &page[end..]));
    }
    let at = page.rfind("</body>")?;
    Some(format!("{}{section}{}", &page[..at], &page[at..]))
}

fn bytes(b: u64) -> String {
    format!("{:.1} KiB", b as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::{CrateRow, Item, Mono};

    fn posture(level: &str) -> WasmOptPosture {
        WasmOptPosture {
            enabled: true,
            level: level.into(),
            strip_debug: true,
            strip_dwarf: true,
            strip_producers: false,
            passes: vec![],
            converge: false,
        }
    }

    #[test]
    fn variants_change_one_setting_each_and_skip_what_is_in_place() {
        let s = Settings {
            opt_level: Some("z".into()),
            lto: Some("fat".into()),
            codegen_units: Some(1),
            panic: None,
        };
        let v = variants(&s, &posture("z"), false);
        let names: Vec<&str> = v.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "opt-level = \"s\"",
                "panic = \"abort\"",
                "-Z build-std with panic_immediate_abort",
                "wasm-opt -Os",
                "wasm-opt -O3",
                "wasm-opt --converge",
                "strip the producers section"
            ]
        );
        assert_eq!(v[1].from, "\"unwind\", cargo's release default");
        assert!(v[2].not_tried.as_deref().unwrap().contains("nightly"));
        assert!(v[0].rebuilds() && !v[3].rebuilds());
        let converged = WasmOptPosture {
            converge: true,
            ..posture("z")
        };
        assert!(!variants(&s, &converged, false)
            .iter()
            .any(|v| v.knob == Some(Knob::Converge)));
        // Defaults everywhere: every cargo remedy is tried.
        let v = variants(&Settings::default(), &posture("0"), true);
        assert_eq!(v.iter().filter(|v| v.rebuilds()).count(), 5);
        assert!(v[5].not_tried.as_deref().unwrap().contains("by hand"));
    }

    #[test]
    fn a_wasm_opt_variant_changes_its_posture_only() {
        let w = posture("z");
        let p = posture_for(&w, &Knob::Converge);
        assert!(p.converge && p.level == "z");
        let p = posture_for(&w, &Knob::WasmOptLevel { level: "3".into() });
        assert_eq!(p.level, "3");
        assert!(posture_for(&w, &Knob::StripProducers).strip_producers);
    }

    fn item(name: &str, kind: &str, bytes: u64, retained: u64, krate: &str) -> Item {
        Item {
            name: name.into(),
            kind: kind.into(),
            shallow_bytes: bytes,
            retained_bytes: retained,
            krate: krate.into(),
        }
    }

    #[test]
    fn advice_from_fixed_attribution_applies_each_threshold() {
        let r = Report {
            schema_version: 1,
            file: "x.wasm".into(),
            names_from: "x.wasm".into(),
            file_bytes: 40_000,
            without_custom_bytes: 40_000,
            mode: "twiggy".into(),
            note: String::new(),
            attributed_bytes: 40_000,
            sections: vec![],
            items: vec![
                item(
                    "<core::fmt::Formatter>::pad",
                    "function",
                    1500,
                    1500,
                    "core",
                ),
                item("core::fmt::write", "function", 700, 900, "core"),
                item("data segment .rodata", "data", 3000, 3000, ""),
                item("data segment .data", "data", 9, 9, ""),
                item("parse", "function", 800, 12_000, "(no crate)"),
                item("tiny", "function", 30, 30, "(no crate)"),
            ],
            crates: vec![
                CrateRow {
                    krate: "dlmalloc".into(),
                    bytes: 7000,
                    functions: 6,
                },
                CrateRow {
                    krate: "alloc".into(),
                    bytes: 9000,
                    functions: 40,
                },
            ],
            monomorphizations: vec![
                Mono {
                    generic: "Vec<..>::push".into(),
                    instantiations: 9,
                    bytes: 2100,
                },
                Mono {
                    generic: "drop_in_place<..>".into(),
                    instantiations: 10,
                    bytes: 1022,
                },
            ],
            paths: Default::default(),
            twin_mismatches: vec![],
            diff: None,
            data_signatures: Default::default(),
        };
        let a = from_attribution(&r, &["parse".into(), "tiny".into()]);
        let what: Vec<&str> = a.iter().map(|a| a.what.as_str()).collect();
        assert_eq!(
            what,
            [
                "export parse keeps code alive",
                "allocator dlmalloc: 17.5 % of the module",
                "data: data segment .rodata",
                "formatting machinery (core::fmt): 5.5 % of the module",
                "generic Vec<..>::push in 9 instantiations",
                "export tiny keeps code alive",
            ]
        );
        assert_eq!(a[0].bytes, 12_000);
        // Beyond five lines a rule sums the rest in one.
        let mut many = r.clone();
        many.monomorphizations = (0..7)
            .map(|i| Mono {
                generic: format!("g{i}"),
                instantiations: 2,
                bytes: 2000 - i,
            })
            .collect();
        let a = from_attribution(&many, &[]);
        assert_eq!(
            a.iter().filter(|a| a.what.starts_with("generic")).count(),
            5
        );
        let more = a
            .iter()
            .find(|a| a.what == "2 more generics over 1 KiB")
            .unwrap();
        assert_eq!(more.bytes, 1995 + 1994);
        // Below every threshold: no advice but the exports.
        let mut small = r.clone();
        small.file_bytes = 1_000_000;
        let a = from_attribution(&small, &[]);
        assert_eq!(
            a.iter().map(|a| a.what.as_str()).collect::<Vec<_>>(),
            [
                "data: data segment .rodata",
                "generic Vec<..>::push in 9 instantiations"
            ]
        );
    }

    #[test]
    fn section_deltas_name_what_went() {
        let old = vec![
            ("code".to_string(), 1000),
            ("custom:name".to_string(), 800),
            ("custom:producers".to_string(), 60),
        ];
        let new = vec![
            ("code".to_string(), 1000),
            ("custom:producers".to_string(), 60),
        ];
        assert_eq!(
            section_deltas(&old, &new),
            [("section custom:name".to_string(), -800)]
        );
    }

    #[test]
    fn the_html_section_goes_before_the_body_end_once() {
        let sec = html(&[]);
        let page = "<html><body><p>x</p></body></html>";
        let once = into_page(page, &sec).unwrap();
        assert!(once.ends_with("</section></body></html>"), "{once}");
        let twice = into_page(&once, &sec).unwrap();
        assert_eq!(once, twice, "a second run replaces its section");
        assert!(into_page("no body", &sec).is_none());
    }

    #[test]
    fn the_table_puts_the_best_saving_first_and_says_what_was_not_tried() {
        let base = Bytes {
            raw: 30_000,
            gzip: 15_000,
            brotli: 13_000,
        };
        let v = variants(&Settings::default(), &posture("z"), false);
        let tried = vec![
            Tried {
                variant: v[0].clone(),
                bytes: Some(Bytes {
                    raw: 31_000,
                    gzip: 15_500,
                    brotli: 13_400,
                }),
                error: None,
                crates: vec![],
                timing: vec![],
            },
            Tried {
                variant: v[2].clone(),
                bytes: Some(Bytes {
                    raw: 25_000,
                    gzip: 12_000,
                    brotli: 11_000,
                }),
                error: None,
                crates: vec![("core".into(), -3000)],
                timing: vec![],
            },
            Tried {
                variant: v[5].clone(),
                bytes: None,
                error: None,
                crates: vec![],
                timing: vec![],
            },
        ];
        let md = markdown(&[ProfileAdvice {
            profile: "core-min".into(),
            base,
            tried,
            advice: vec![],
            builds: 2,
        }]);
        let best = md.find("| lto = \"fat\"").unwrap();
        let worse = md.find("| opt-level = \"z\"").unwrap();
        let skipped = md.find("not tried: needs a nightly").unwrap();
        assert!(best < worse && worse < skipped, "{md}");
        assert!(md.contains("| -2.0 KiB | core -2.9 KiB |"), "{md}");
    }

    #[test]
    fn timing_says_the_direction_only_when_the_interval_excludes_one() {
        let t = |point, lo, hi, verdict: &str| Timing {
            metric: "M-PERF-02A".into(),
            environment: "desktop".into(),
            ratio: Some(crate::stats::Interval { point, lo, hi }),
            verdict: verdict.into(),
            blocks: 8,
        };
        for (timing, words) in [
            (
                t(0.93, 0.90, 0.96, "unchanged"),
                "x0.930 [0.900, 0.960], faster",
            ),
            (
                t(1.02, 0.97, 1.06, "unchanged"),
                "x1.020 [0.970, 1.060], no clear change",
            ),
            (
                t(1.04, 1.01, 1.07, "unchanged"),
                "x1.040 [1.010, 1.070], slower",
            ),
            (
                t(1.25, 1.18, 1.31, "regressed"),
                "x1.250 [1.180, 1.310], slower, past the gate's limit",
            ),
        ] {
            assert_eq!(timing.words(), words);
        }
        let same = Timing {
            ratio: None,
            ..t(1.0, 1.0, 1.0, "unchanged")
        };
        assert_eq!(same.words(), "same bytes as configured");
        // The column appears only when something was timed, and names the
        // metric and environment; an untimed variant reads "-".
        let base = Bytes {
            raw: 30_000,
            gzip: 15_000,
            brotli: 13_000,
        };
        let v = variants(&Settings::default(), &posture("z"), false);
        let row = |variant: &Variant, timing| Tried {
            variant: variant.clone(),
            bytes: Some(base),
            error: None,
            crates: vec![],
            timing,
        };
        let mut p = ProfileAdvice {
            profile: "core-min".into(),
            base,
            tried: vec![row(&v[0], vec![])],
            advice: vec![],
            builds: 1,
        };
        assert!(!markdown(std::slice::from_ref(&p)).contains("cold init"));
        p.tried
            .push(row(&v[1], vec![t(0.93, 0.90, 0.96, "unchanged")]));
        let md = markdown(std::slice::from_ref(&p));
        assert!(
            md.contains("| cold init (M-PERF-02A, desktop) |")
                && md.contains("| x0.930 [0.900, 0.960], faster |")
                && md.contains("|  | - |"),
            "{md}"
        );
        let page = html(&[p]);
        assert!(
            page.contains("<th>cold init (M-PERF-02A, desktop)</th>")
                && page.contains("<td>-</td>")
        );
    }
}
