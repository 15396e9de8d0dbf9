//! Configuration errors, each located by file, key and line.

use crate::config;
use std::path::Path;

#[path = "../tests/common/mod.rs"]
mod common;
use common::{root, scratch};

fn load_err(dir: &Path) -> config::ConfigError {
    config::load(&dir.join("budgets.toml")).expect_err("config should be rejected")
}

#[test]
fn the_shipped_config_loads() {
    let c = config::load(&root().join("budgets.toml")).unwrap();
    assert_eq!(c.profiles.len(), 3);
    assert_eq!(c.metrics.len(), 10);
    assert_eq!(c.metrics.iter().find(|m| m.id == "M-PERF-04D").unwrap().caps.len(), 2);
}

#[test]
fn malformed_toml_names_file_and_line() {
    let d = scratch("malformed", |t| t.replace("batch = 512", "batch = = 512"));
    let e = load_err(&d);
    let line = std::fs::read_to_string(d.join("budgets.toml")).unwrap().lines().position(|l| l.contains("batch = =")).unwrap() + 1;
    assert_eq!(e.line, Some(line), "{e}");
    assert!(e.to_string().contains("budgets.toml:"), "{e}");
}

#[test]
fn unknown_key_names_key_and_line() {
    let d = scratch("unknown", |t| t.replace("batch = 512", "batch = 512\nbatchh = 3"));
    let e = load_err(&d);
    assert!(e.message.contains("unknown field `batchh`"), "{e}");
    assert_eq!(e.key, "protocol.batchh", "{e}");
    assert!(e.line.is_some());
}

#[test]
fn missing_cap_for_a_profile() {
    let d = scratch("nocap", |t| t.replace("hard = { core-min = 650, core-trace = 900, full-dev = 1300 }", "hard = { core-min = 650, core-trace = 900 }"));
    let e = load_err(&d);
    assert!(e.message.contains("no hard cap for profile `full-dev`"), "{e}");
    assert!(e.key.contains("M-PERF-01A") && e.key.ends_with("hard.full-dev"), "{e}");
    let line = std::fs::read_to_string(d.join("budgets.toml")).unwrap().lines().position(|l| l.contains("core-trace = 900 }")).unwrap() + 1;
    assert_eq!(e.line, Some(line), "{e}");
}

#[test]
fn negative_and_non_numeric_caps() {
    let d = scratch("neg", |t| t.replace("core-min = 650,", "core-min = -650,"));
    let e = load_err(&d);
    assert!(e.message.contains("non-negative"), "{e}");
    assert!(e.key.ends_with("hard.core-min"), "{e}");
    let d = scratch("nan", |t| t.replace("core-min = 650,", "core-min = \"lots\","));
    let e = load_err(&d);
    assert!(e.message.contains("must be a number, found string"), "{e}");
    assert!(e.line.is_some());
}

#[test]
fn profile_with_missing_feature() {
    let d = scratch("feature", |t| t);
    let p = d.join("profiles/core-trace.toml");
    std::fs::write(&p, std::fs::read_to_string(&p).unwrap().replace("[\"trace\"]", "[\"trace\", \"turbo\"]")).unwrap();
    let e = load_err(&d);
    assert!(e.file.ends_with("core-trace.toml"), "{e}");
    assert!(e.message.contains("no feature `turbo`") && e.hint.contains("trace"), "{e}");
    assert_eq!(e.key, "cargo.features");
    assert!(e.line.is_some());
}


// ------------------------------------------------------------ golden reports

use crate::gate::{self, Status};
use crate::ledger::Ledger;
use crate::report::{self, Exporter};
use crate::summary::*;

/// Compare with a golden file; `BLESS=1` rewrites it. Prints a diff.
pub fn golden(name: &str, actual: &str) {
    let path = root().join("tests/golden").join(name);
    if std::env::var_os("BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden file {}; create it with BLESS=1", path.display()));
    if expected != actual {
        let mut diff = String::new();
        for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
            if e != a {
                diff.push_str(&format!("line {}:\n- {e}\n+ {a}\n", i + 1));
            }
        }
        if expected.lines().count() != actual.lines().count() {
            diff.push_str(&format!("line counts differ: {} vs {}\n", expected.lines().count(), actual.lines().count()));
        }
        panic!("{} differs from the golden file (rerun with BLESS=1 if intended):\n{diff}", path.display());
    }
}

/// A run with fixed numbers: a pass, a first warn, an escalated fail, a hard
/// fail with contributors, a baseline regression and a missing value.
fn fixed_summary() -> Summary {
    let fp = Fingerprint {
        rustc: "rustc 1.95.0".into(),
        binaryen: "binaryen version_116".into(),
        chromium: "Chrome/156.0.8078.73".into(),
        browser_origin: "launched /usr/bin/chromium".into(),
        host: "ci linux x86_64".into(),
        cpus: 2,
        throttle: [("desktop".to_string(), 1.0), ("mobile".to_string(), 4.0)].into(),
        timer_resolution_us: Some(5.0),
        cross_origin_isolated: Some(true),
    };
    let h = crate::stats::histogram_of(&[1.0, 1.5, 2.0, 2.5, 3.0]).unwrap();
    let blob = crate::stats::encode(&h).unwrap();
    let mk = |id: &str, profile: &str, env: &str, value: Option<f64>, unit: &str, warn: Option<f64>, hard: f64, kind: crate::config::GateKind, hist: &[bool], base: Option<f64>| {
        let caps = crate::config::Caps { hard, warn };
        let per_seed: Vec<SeedValue> = if env == "size" {
            vec![]
        } else {
            [11u64, 29, 42].iter().map(|&s| SeedValue { seed: s, value: value.unwrap_or(0.0), samples: 5, histogram: blob.clone() }).collect()
        };
        let vals: Vec<f64> = per_seed.iter().map(|s| s.value).collect();
        let bp = base.map(|b| gate::BaselinePoint { value: b, per_seed: vec![b, b, b] });
        let verdict = gate::verdict(&gate::Observation {
            value,
            per_seed: &vals,
            kind,
            caps: &caps,
            deterministic: env == "size",
            history_in_band: hist,
            baseline: bp.as_ref(),
            consecutive_warns_to_fail: 2,
            baseline_regression_pct: 10.0,
        });
        Record {
            commit: "0123abc".into(),
            profile: profile.into(),
            environment: env.into(),
            metric_id: id.into(),
            metric_name: format!("{id} name"),
            value,
            unit: unit.into(),
            threshold_warn: warn,
            threshold_hard: hard,
            kind: if kind == crate::config::GateKind::Hard { "hard".into() } else { "warn-then-block".into() },
            status: verdict.status,
            seed_set: per_seed.iter().map(|s| s.seed).collect(),
            commands: vec!["cargo xtask budget".into()],
            artifact_paths: vec![format!("target/budget/{profile}/shipped.wasm")],
            method: "fixed".into(),
            histogram: if env == "size" { None } else { Some(blob.clone()) },
            per_seed,
            baseline_value: base,
            contributors: vec![],
            verdict,
            fingerprint: fp.clone(),
            timer_warning: None,
        }
    };
    use crate::config::GateKind::*;
    let records = vec![
        mk("M-PERF-01A", "core-min", "size", Some(31.8), "KiB", None, 650.0, Hard, &[], Some(31.8)),
        mk("M-PERF-01B", "core-min", "size", Some(240.0), "KiB", None, 220.0, Hard, &[], None),
        mk("M-PERF-02A", "core-min", "desktop", Some(1.4), "ms", None, 60.0, Hard, &[], Some(1.0)),
        mk("M-PERF-04A", "core-min", "desktop", Some(9.0), "us", Some(8.0), 12.0, WarnThenBlock, &[], None),
        mk("M-PERF-04B", "core-min", "desktop", Some(16.0), "us", Some(15.0), 24.0, WarnThenBlock, &[true], None),
        mk("M-PERF-03A", "core-min", "desktop", None, "MiB", None, 24.0, Hard, &[], None),
    ];
    Summary {
        schema_version: SCHEMA_VERSION,
        outcome: "ok".into(),
        status: Some(gate::overall(records.iter().map(|r| r.status))),
        commit: "0123abc".into(),
        started_unix_s: 1_800_000_000,
        wall_s: 12.5,
        quick: false,
        gating: true,
        profiles: vec!["core-min".into()],
        environments: vec!["desktop".into()],
        fingerprint: fp,
        records,
        artifacts: vec![ArtifactInfo {
            profile: "core-min".into(),
            input: "target/budget/core-min/input.wasm".into(),
            shipped: "target/budget/core-min/shipped.wasm".into(),
            named_twin: "target/budget/core-min/named.wasm".into(),
            sizes: crate::size::Sizes { raw_bytes: 32613, gzip_bytes: 14620, brotli_bytes: 12900, stripped_bytes: 32600 },
            input_raw_bytes: 58820,
            features: vec!["bulk-memory".into(), "sign-ext".into()],
            build_command: "cargo build".into(),
            optimize_command: "wasm-opt -Oz".into(),
            optimize_cached: true,
            js_glue: None,
            attribution: vec![],
        }],
        error: None,
        trend: vec![
            TrendPoint { run: "r1".into(), commit: "aaa".into(), status: Status::Pass },
            TrendPoint { run: "r2".into(), commit: "bbb".into(), status: Status::Warn },
            TrendPoint { run: "r3".into(), commit: "0123abc".into(), status: Status::Fail },
        ],
    }
}

#[test]
fn golden_markdown_and_json_reports() {
    let s = fixed_summary();
    let statuses: Vec<Status> = s.records.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![Status::Pass, Status::Fail, Status::Fail, Status::Warn, Status::Fail, Status::Fail]);
    let ledger = Ledger::empty();
    let cdfs = Default::default();
    let data = report::ReportData { summary: &s, ledger: &ledger, cdfs: &cdfs, attributions: vec![] };
    golden("summary.md", &report::markdown::Markdown.render(&data));
    let json = report::Json.render(&data);
    let violations = common::schema::check_summary(&serde_json::from_str(&json).unwrap());
    assert!(violations.is_empty(), "{violations:#?}");
    golden("summary.json", &json);
    golden("terminal.txt", &report::terminal::render(&s, false));
}

// ------------------------------------------------------------ attribution

const FIXTURES: &[&str] = &["named", "stripped", "simd-bulk", "dwarf", "wide-arith", "data-only", "wasm-bindgen_bg"];

fn fixture(name: &str) -> std::path::PathBuf {
    root().join("tests/fixtures").join(format!("{name}.wasm"))
}

#[test]
fn golden_attribution_of_every_fixture_conserves_bytes() {
    for name in FIXTURES {
        let r = crate::attribute::analyze(&fixture(name), None).unwrap();
        assert_eq!(r.attributed_bytes, r.file_bytes, "{name}: conservation");
        assert_eq!(r.items.iter().map(|i| i.shallow_bytes).sum::<u64>(), r.file_bytes, "{name}");
        assert_eq!(r.sections.iter().map(|s| s.bytes).sum::<u64>() + 8, r.file_bytes, "{name}: sections");
        let mut md = crate::attribute::markdown(&r, 15);
        // The path is the machine's; keep goldens portable.
        md = md.replace(&root().display().to_string(), "<root>");
        golden(&format!("attribution/{name}.md"), &md);
    }
    // Degraded mode is said, not hidden.
    let r = crate::attribute::analyze(&fixture("data-only"), None).unwrap();
    assert_eq!(r.mode, "degraded");
    assert!(r.note.contains("degraded"));
    // DWARF is counted as debug bytes.
    let r = crate::attribute::analyze(&fixture("dwarf"), None).unwrap();
    assert!(r.items.iter().filter(|i| i.kind == "debug").map(|i| i.shallow_bytes).sum::<u64>() > 500_000);
}

#[test]
fn stripped_module_is_named_through_its_twin() {
    let r = crate::attribute::analyze(&fixture("stripped"), Some(&fixture("named"))).unwrap();
    assert!(r.twin_mismatches.is_empty(), "{:?}", r.twin_mismatches);
    assert!(r.items.iter().any(|i| i.name.contains("fixture_sum")), "names came from the twin");
    assert_eq!(r.attributed_bytes, r.file_bytes);
    // A twin that does not match is reported, not trusted.
    let r = crate::attribute::analyze(&fixture("stripped"), Some(&fixture("simd-bulk"))).unwrap();
    assert!(!r.twin_mismatches.is_empty());
    assert!(r.items.iter().all(|i| !i.name.contains("fixture_sum")));
}

/// Shallow and retained sizes agree with twiggy's own analyses (its IR:
/// the items `twiggy top` lists and the retained sizes `twiggy dominators`
/// prints) on every fixture twiggy can parse.
#[test]
fn agrees_with_twiggy_top_and_dominators() {
    for name in ["named", "simd-bulk", "dwarf", "wide-arith", "wasm-bindgen_bg"] {
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
            let t = pairs(theirs.iter().filter(|x| &x.0 == n).map(|x| (x.1, x.2)).collect());
            let o = pairs(ours.items.iter().filter(|i| &i.name == n).map(|i| (i.shallow_bytes, i.retained_bytes)).collect());
            assert_eq!(o, t, "{name}: (shallow, retained) of {n}, ours vs twiggy");
        }
    }
}
