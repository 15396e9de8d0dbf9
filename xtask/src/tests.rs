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
    assert_eq!(c.metrics.len(), 17);
    assert_eq!(c.environments["firefox-desktop"].browser, config::BrowserKind::Firefox);
    assert_eq!(c.environments["desktop"].browser, config::BrowserKind::Chromium, "the default");
    assert_eq!(c.metrics.iter().filter(|m| m.environment == "firefox-desktop").count(), 6);
    let d = c.metrics.iter().find(|m| m.id == "M-PERF-04D").unwrap();
    assert_eq!(d.reference_without.as_deref(), Some(&["trace".to_string()][..]));
    assert!(c.environments["desktop-eager"].js_flags.contains(&"--no-wasm-lazy-compilation".to_string()));
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

#[test]
fn cargo_settings_in_a_profile_file_are_checked() {
    let d = scratch("settings", |t| t);
    let p = d.join("profiles/core-min.toml");
    let base = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, base.replace("[wasm_opt]", "[cargo.settings]\nopt-level = \"z\"\nlto = \"fat\"\n\n[wasm_opt]")).unwrap();
    let c = config::load(&d.join("budgets.toml")).unwrap();
    let s = &c.profile("core-min").unwrap().cargo_settings;
    assert_eq!(s.get("lto").and_then(|v| v.as_str()), Some("fat"));
    // An unknown key, and a strip that would take the names attribution needs.
    std::fs::write(&p, base.replace("[wasm_opt]", "[cargo.settings]\nopt-levle = \"z\"\n\n[wasm_opt]")).unwrap();
    let e = load_err(&d);
    assert!(e.file.ends_with("core-min.toml") && e.key == "cargo.settings.opt-levle" && e.hint.contains("opt-level"), "{e}");
    assert!(e.line.is_some(), "{e}");
    std::fs::write(&p, base.replace("[wasm_opt]", "[cargo.settings]\nstrip = \"symbols\"\n\n[wasm_opt]")).unwrap();
    let e = load_err(&d);
    assert!(e.key == "cargo.settings.strip" && e.message.contains("removes the names attribution needs"), "{e}");
}

#[test]
fn missing_scenarios_are_checked_only_where_scenarios_run() {
    // `size` loads a budgets file whose scenarios are not written yet;
    // `budget` (check_scenarios) names the metric, file and line.
    let d = scratch("noscen", |t| t.replace(&format!("scenarios = \"{}\"", root().join("runtime/scenarios").display()), "scenarios = \"not-yet\""));
    let c = config::load(&d.join("budgets.toml")).expect("sizes need no scenario");
    let metrics: Vec<&config::MetricSpec> = c.metrics.iter().collect();
    let e = c.check_scenarios(&metrics).unwrap_err();
    assert!(e.message.contains("not-yet/heap.js does not exist"), "{e}");
    assert!(e.key.contains("M-PERF-03A") && e.key.ends_with(".source"), "{e}");
    assert_eq!(e.line, Some(line_containing(&d, "source = \"scenario:heap\"")), "{e}");
    let sizes: Vec<&config::MetricSpec> = c.metrics.iter().filter(|m| matches!(m.source, config::Source::Size(_))).collect();
    assert!(c.check_scenarios(&sizes).is_ok());
}

#[test]
fn the_dependency_policy_is_checked_at_its_line() {
    let shipped = config::load(&root().join("budgets.toml")).unwrap();
    let policies = shipped.dependencies.expect("the shipped budgets forbid the contract's set");
    assert_eq!(policies.len(), 3);
    assert!(policies["core-min"].forbidden.iter().any(|r| r.name == "signal-hook-registry"));

    let d = scratch("depsrule", |t| t.replace("forbidden = [\"libc\",", "forbidden = [\"libc@banana\","));
    let e = load_err(&d);
    assert_eq!(e.key, "dependencies.forbidden", "{e}");
    assert!(e.message.contains("`banana` is not a version requirement"), "{e}");
    assert!(e.hint.contains("nix@<0.27"), "{e}");
    assert_eq!(e.line, Some(line_containing(&d, "libc@banana")), "{e}");

    let d = scratch("depsprofile", |t| t.replace("# [dependencies.profile.full-dev]\n# allow = [...]", "[dependencies.profile.full-deb]\nallow = []"));
    let e = load_err(&d);
    assert_eq!(e.key, "dependencies.profile.full-deb", "{e}");
    assert!(e.hint.contains("core-min, core-trace, full-dev"), "{e}");
    assert_eq!(e.line, Some(line_containing(&d, "[dependencies.profile.full-deb]")), "{e}");

    let d = scratch("depsallow", |t| t.replace("# allow = [{ crate = \"libc\"", "allow = [{ krate = \"libc\""));
    let e = load_err(&d);
    assert!(e.message.contains("unknown field `krate`"), "{e}");
    assert!(e.line.is_some(), "{e}");

    let d = scratch("depsextra", |t| t.replace("# [dependencies.profile.full-dev]\n# allow = [...]", "[dependencies.profile.full-dev]\nforbidden = [\"getrandom\"]\nallow = [{ crate = \"libc\", reason = \"types only\" }]"));
    let c = config::load(&d.join("budgets.toml")).unwrap();
    let p = c.dependencies.unwrap();
    assert!(p["full-dev"].forbidden.iter().any(|r| r.name == "getrandom") && !p["core-min"].forbidden.iter().any(|r| r.name == "getrandom"));
    assert_eq!(p["full-dev"].allow[0].reason, "types only");
}

fn line_containing(d: &Path, needle: &str) -> usize {
    std::fs::read_to_string(d.join("budgets.toml")).unwrap().lines().position(|l| l.contains(needle)).expect(needle) + 1
}

#[test]
fn duplicate_seeds_are_rejected() {
    let d = scratch("dupseeds", |t| t.replace("seeds = [11, 29, 42, 73, 101]", "seeds = [11, 11, 11]"));
    let e = load_err(&d);
    assert!(e.message.contains("seed 11 appears more than once"), "{e}");
    assert_eq!(e.key, "protocol.seeds[1]", "{e}");
    assert_eq!(e.line, Some(line_containing(&d, "seeds = [11, 11, 11]")), "{e}");
}

#[test]
fn non_finite_numbers_are_rejected_anywhere() {
    let d = scratch("nanpct", |t| t.replace("baseline_regression_pct = 10.0", "baseline_regression_pct = nan"));
    let e = load_err(&d);
    assert_eq!(e.key, "escalation.baseline_regression_pct", "{e}");
    assert!(e.message.contains("`nan` is not a finite number"), "{e}");
    assert_eq!(e.line, Some(line_containing(&d, "baseline_regression_pct = nan")), "{e}");
    let d = scratch("infcap", |t| t.replace("core-min = 650,", "core-min = inf,"));
    let e = load_err(&d);
    assert!(e.key.starts_with("metric[") && e.key.ends_with("hard.core-min"), "{e}");
    assert_eq!(e.line, Some(line_containing(&d, "core-min = inf,")), "{e}");
    let d = scratch("nanpp", |t| t.replace("regression_pp = 3.0", "regression_pp = -nan"));
    assert_eq!(load_err(&d).key, "comparison.regression_pp");
}

#[test]
fn a_short_ledger_window_is_rejected() {
    let d = scratch("window", |t| t.replace("ledger_window = 8", "ledger_window = 3"));
    let e = load_err(&d);
    assert_eq!(e.key, "escalation.ledger_window", "{e}");
    assert_eq!(e.line, Some(line_containing(&d, "ledger_window = 3")), "{e}");
}

#[test]
fn an_environment_error_points_at_its_own_line() {
    let d = scratch("throttle", |t| t.replace("cpu_throttle = 4.0", "cpu_throttle = 0.5"));
    let e = load_err(&d);
    assert_eq!(e.key, "environment.mobile.cpu_throttle", "{e}");
    assert_eq!(e.line, Some(line_containing(&d, "cpu_throttle = 0.5")), "{e}");
}


#[test]
fn a_throttled_or_v8_flagged_firefox_environment_is_refused_at_its_line() {
    let ff = "browser = \"firefox\"\ncpu_throttle = 1.0";
    let d = scratch("ffthrottle", |t| t.replace(ff, "browser = \"firefox\"\ncpu_throttle = 4.0"));
    let e = load_err(&d);
    assert_eq!(e.key, "environment.firefox-desktop.cpu_throttle", "{e}");
    assert_eq!(e.line, Some(firefox_line(&d, "cpu_throttle")), "{e}");
    assert!(e.message.contains("Firefox cannot be CPU-throttled"), "{e}");

    let d = scratch("ffflags", |t| t.replace(ff, &format!("{ff}\njs_flags = [\"--no-wasm-lazy-compilation\"]")));
    let e = load_err(&d);
    assert_eq!(e.key, "environment.firefox-desktop.js_flags", "{e}");
    assert_eq!(e.line, Some(firefox_line(&d, "js_flags")), "{e}");
}

/// The line of `key` inside `[environment.firefox-desktop]`.
fn firefox_line(d: &Path, key: &str) -> usize {
    let text = std::fs::read_to_string(d.join("budgets.toml")).unwrap();
    let start = text.lines().position(|l| l == "[environment.firefox-desktop]").unwrap();
    start + text.lines().skip(start).position(|l| l.starts_with(key)).unwrap() + 1
}

#[test]
fn a_heap_metric_in_a_firefox_environment_is_refused_naming_why() {
    let d = scratch("ffheap", |t| {
        let at = t.find("id = \"M-PERF-03A\"").unwrap();
        let (head, tail) = t.split_at(at);
        format!("{head}{}", tail.replacen("environment = \"desktop\"", "environment = \"firefox-desktop\"", 1))
    });
    let e = load_err(&d);
    assert!(e.key.contains("M-PERF-03A") && e.key.ends_with(".environment"), "{e}");
    assert_eq!(e.line, Some(line_containing(&d, "environment = \"firefox-desktop\"")), "{e}");
    assert!(e.message.contains("Chromium only") && e.message.contains("no gc()"), "{e}");
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
        panic!("{} differs from the golden file (rerun with BLESS=1 if intended):\n{}", path.display(), line_diff(&expected, actual));
    }
}

/// The lines that differ, by a longest-common-subsequence alignment: `-`
/// only in the golden file, `+` only in the output, each with its line
/// number there. One inserted line is one `+` line, not a shift of every
/// line after it.
fn line_diff(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    // lcs[i][j]: the longest common subsequence of e[i..] and a[j..].
    let mut lcs = vec![vec![0u32; a.len() + 1]; e.len() + 1];
    for i in (0..e.len()).rev() {
        for j in (0..a.len()).rev() {
            lcs[i][j] = if e[i] == a[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < e.len() || j < a.len() {
        if i < e.len() && j < a.len() && e[i] == a[j] {
            (i, j) = (i + 1, j + 1);
        } else if j < a.len() && (i == e.len() || lcs[i][j + 1] > lcs[i + 1][j]) {
            out.push_str(&format!("+{:>5} {}\n", j + 1, a[j]));
            j += 1;
        } else {
            out.push_str(&format!("-{:>5} {}\n", i + 1, e[i]));
            i += 1;
        }
    }
    out
}

#[test]
fn the_golden_diff_aligns_lines() {
    assert_eq!(line_diff("a\nb\nc\n", "a\nx\nb\nc\n"), "+    2 x\n", "one inserted line is one line of diff");
    assert_eq!(line_diff("a\nb\nc\n", "a\nc\n"), "-    2 b\n");
    assert_eq!(line_diff("a\nb\n", "a\nB\n"), "-    2 b\n+    2 B\n");
    assert_eq!(line_diff("same\n", "same\n"), "");
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
        throttle_rate: [("desktop".to_string(), 1.0), ("mobile".to_string(), 5.7)].into(),
        throttle_achieved: [("mobile".to_string(), 3.96)].into(),
        js_flags: Default::default(),
        timer_resolution_us: Some(5.0),
        cross_origin_isolated: Some(true),
        browsers: [
            ("desktop", "chromium", "Chrome/156.0.8078.73", "CDP", 5.0),
            ("mobile", "chromium", "Chrome/156.0.8078.73", "CDP", 5.0),
            ("firefox-desktop", "firefox", "firefox/153.8.0", "WebDriver BiDi", 20.0),
        ]
        .into_iter()
        .map(|(env, kind, product, protocol, tick)| {
            let b = crate::summary::EnvBrowser { kind: kind.into(), product: product.into(), protocol: protocol.into(), timer_resolution_us: Some(tick), cross_origin_isolated: Some(true) };
            (env.to_string(), b)
        })
        .collect(),
        host_speed: [("desktop".to_string(), crate::summary::HostSpeed { median_ms: 9.84, min_ms: 9.1, max_ms: 14.25, calls: 230 })].into(),
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
        // Timings with a base are compared live: a fixed regressed ratio.
        let comparison = base.filter(|_| env != "size").map(|b| {
            let v = value.unwrap_or(0.0);
            let est = crate::stats::Interval { point: v / b, lo: v / b - 0.1, hi: v / b + 0.1 };
            let mut c = crate::summary::Comparison {
                base: "--against main (0123456789ab)".into(),
                verdict: crate::stats::ab_verdict(&est, 1.0, 1.1),
                measure: "ratio".into(),
                base_value: Some(b),
                estimate: Some(est),
                limit: 1.1,
                blocks: 4,
                extended: false,
                reason: String::new(),
                base_per_seed: vec![b, b, b],
            };
            c.reason = crate::measure::explain(&c, &est, false);
            c
        });
        let value_ci = value.filter(|_| env != "size").map(|v| crate::stats::Interval { point: v, lo: v * 0.97, hi: v * 1.03 });
        let clock = value.filter(|_| env != "size" && unit != "MiB").map(|v| crate::summary::ClockCheck {
            tick_in_unit: if unit == "us" { 5.0 / 512.0 } else { 0.005 },
            ticks: v / if unit == "us" { 5.0 / 512.0 } else { 0.005 },
            floor_ticks: 10.0,
        });
        let verdict = gate::verdict(&gate::Observation {
            value,
            value_ci: value_ci.as_ref(),
            kind,
            caps: &caps,
            history: &hist.iter().map(|&b| gate::Past { value: Some(if b { warn.unwrap_or(hard) + 1.0 } else { 0.0 }), ci: None }).collect::<Vec<_>>(),
            size_base: base.filter(|_| env == "size"),
            comparison: comparison.as_ref(),
            clock: clock.as_ref(),
            growth: None,
            retried: &[],
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
            value_ci,
            clock,
            comparison,
            heap_growth: None,
            retried: vec![],
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
            toolchain: "1.95.0-x86_64-unknown-linux-gnu (overridden by 'rust-toolchain.toml')".into(),
            rustc: "rustc 1.95.0 (59807616e 2026-04-14)".into(),
            optimize_command: "wasm-opt -Oz".into(),
            optimize_cached: true,
            js_glue: None,
            attribution: vec![],
            dependencies: Some(crate::closure::Closure {
                command: "cargo tree --manifest-path runtime/Cargo.toml --package runtime --target wasm32-unknown-unknown -e normal --no-default-features".into(),
                normal: vec![crate::closure::Pkg { name: "itoa".into(), version: "1.0.11".into() }],
                host_only: vec![],
                findings: vec![],
                diff: Some(crate::closure::Diff {
                    against: "--against main (3f2a1b4c5d6e)".into(),
                    added: vec![crate::closure::Change { name: "itoa".into(), old: None, new: Some("1.0.11".into()), shipped_bytes: Some(1370) }],
                    removed: vec![],
                    changed: vec![],
                }),
            }),
        }],
        error: None,
        trend: vec![
            TrendPoint { run: "r1".into(), commit: "aaa".into(), status: Status::Pass },
            TrendPoint { run: "r2".into(), commit: "bbb".into(), status: Status::Warn },
            TrendPoint { run: "r3".into(), commit: "0123abc".into(), status: Status::Fail },
        ],
        protocol: Some(crate::summary::ProtocolUsed { seeds: vec![11, 29, 42, 73, 101], latency_iterations: 2000, heap_warmup: 200, heap_samples: 500, blocks: 8 }),
    }
}

/// Each timing record's distribution: its histogram, and for compared ones
/// a base scaled to the base's value.
fn fixed_cdfs(s: &Summary) -> std::collections::BTreeMap<String, crate::stats::Cdf> {
    s.records
        .iter()
        .filter_map(|r| {
            let h = crate::stats::decode(r.histogram.as_ref()?).ok()?;
            let candidate = crate::stats::cdf_points(&h, 200);
            let base = r.comparison.as_ref().and_then(|c| c.base_value.zip(r.value)).map(|(b, v)| candidate.iter().map(|(x, f)| (x * b / v, *f)).collect());
            Some((crate::ledger::key(&r.metric_id, &r.profile, &r.environment), crate::stats::Cdf { candidate, base, quantile: 0.95 }))
        })
        .collect()
}

#[test]
fn distribution_plots_span_their_data_and_name_an_off_scale_cap() {
    let s = fixed_summary();
    let mut r = s.records.iter().find(|r| r.histogram.is_some()).unwrap().clone();
    let cdf = |xs: &[f64]| crate::stats::Cdf { candidate: xs.iter().enumerate().map(|(i, x)| (*x, (i + 1) as f64 / xs.len() as f64)).collect(), base: None, quantile: 0.95 };
    let seeds = |r: &mut crate::summary::Record, v: &[f64]| {
        for (sv, x) in r.per_seed.iter_mut().zip(v) {
            sv.value = *x;
        }
    };
    let render = |r: &crate::summary::Record, c: &crate::stats::Cdf| {
        let s1 = Summary { records: vec![r.clone()], ..s.clone() };
        let cdfs: std::collections::BTreeMap<String, crate::stats::Cdf> = [(crate::ledger::key(&r.metric_id, &r.profile, &r.environment), c.clone())].into();
        let html = report::html::Html.render(&report::ReportData { summary: &s1, ledger: &Ledger::empty(), cdfs: &cdfs, attributions: vec![] });
        html[html.find("id=\"cdfs\"").unwrap()..].to_string()
    };
    // Cold init at 2 % of a 100 ms cap: the axis is the data's, the cap in words.
    r.unit = "ms".into();
    (r.threshold_hard, r.threshold_warn) = (100.0, Some(80.0));
    seeds(&mut r, &[2.1, 2.3, 2.2]);
    let html = render(&r, &cdf(&[1.7, 2.0, 2.2, 2.6, 3.0]));
    assert!(html.contains("cap at 100.0 ms, off scale; warn at 80.00 ms, off scale"), "{html}");
    assert!(!html.contains(">cap 100"), "{html}");
    assert!(!html.contains("log scale"));
    // Three seed points on the p95 line, ticks in the data's range.
    assert_eq!(html.matches("<title>seed ").count(), 3, "{html}");
    assert!(html.contains(">2.0</text>") && html.contains(">3.0</text>"), "{html}");
    // Near the cap: the line is drawn, nothing is off scale.
    r.threshold_hard = 3.5;
    r.threshold_warn = None;
    let html = render(&r, &cdf(&[1.7, 2.0, 2.2, 2.6, 3.0]));
    assert!(html.contains(">cap ") && !html.contains("off scale"), "{html}");
    // Over three decades: a log axis.
    let html = render(&r, &cdf(&[0.01, 0.1, 2.0, 30.0]));
    assert!(html.contains("log scale") && html.contains(">10</text>"), "{html}");
}

#[test]
fn an_interval_is_printed_to_its_value_s_precision() {
    use crate::report::terminal::ci_str;
    let s = fixed_summary();
    let mut r = record(&s, "M-PERF-02A", "core-min").clone();
    let with = |r: &mut Record, value: f64, lo: f64, hi: f64| {
        r.value = Some(value);
        r.value_ci = Some(crate::stats::Interval { point: value, lo, hi });
        ci_str(r)
    };
    // The interval crosses 1: both ends take the value's two decimals.
    assert_eq!(with(&mut r, 1.10, 0.7051, 1.2498), "[0.71, 1.25]");
    assert_eq!(with(&mut r, 0.95, 0.9012, 1.0349), "[0.9012, 1.0349]");
    assert_eq!(with(&mut r, 0.0269, 0.02641, 0.02733), "[0.0264, 0.0273]");
    assert_eq!(with(&mut r, 101.0, 97.04, 104.96), "[97.0, 105.0]");
    r.value_ci = None;
    assert_eq!(ci_str(&r), "-");
}

#[test]
fn golden_markdown_and_json_reports() {
    let s = fixed_summary();
    let statuses: Vec<Status> = s.records.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![Status::Pass, Status::Fail, Status::Fail, Status::Warn, Status::Fail, Status::Fail]);
    let ledger = Ledger::empty();
    let cdfs = fixed_cdfs(&s);
    assert!(cdfs.len() >= 3 && cdfs.values().any(|c| c.base.is_some()));
    let attr = crate::attribute::analyze(&fixture("named"), None).unwrap();
    let data = report::ReportData { summary: &s, ledger: &ledger, cdfs: &cdfs, attributions: vec![("core-min", &attr)] };
    golden("summary.md", &report::markdown::Markdown.render(&data));
    let json = report::Json.render(&data);
    let violations = common::schema::check_summary(&serde_json::from_str(&json).unwrap());
    assert!(violations.is_empty(), "{violations:#?}");
    golden("summary.json", &json);
    golden("terminal.txt", &report::terminal::render(&s, false));
    golden("report.html.skeleton", &html_skeleton(&report::html::Html.render(&data)));
}

/// A green run where nothing moved is a few visible lines in the pull
/// request (the 48-row table is folded), and a run where something moved
/// shows that record, sizes first, with its reason, above the fold.
#[test]
fn the_pull_request_summary_leads_with_what_changed() {
    let mut s = fixed_summary();
    for r in s.records.iter_mut() {
        r.status = Status::Pass;
        r.verdict.status = Status::Pass;
        r.verdict.baseline_delta_pct = r.verdict.baseline_delta_pct.map(|_| 0.0);
        if let Some(c) = r.comparison.as_mut() {
            c.verdict = crate::stats::AbVerdict::Unchanged;
            c.estimate = Some(crate::stats::Interval { point: 1.01, lo: 0.97, hi: 1.05 });
        }
    }
    s.status = Some(Status::Pass);
    let render = |s: &Summary| report::markdown::Markdown.render(&report::ReportData { summary: s, ledger: &Ledger::empty(), cdfs: &Default::default(), attributions: vec![] });
    let md = render(&s);
    let visible: Vec<&str> = md.split("<details>").next().unwrap().lines().collect();
    assert!(visible.len() <= 15, "{} visible lines:\n{md}", visible.len());
    assert!(md.contains("**6 records: 0 fail · 0 warn · 6 pass**") && md.contains("Nothing changed"), "{md}");
    // The full table is still there, folded.
    assert!(md.split("<details>").nth(1).unwrap().contains("| M-PERF-02A M-PERF-02A name |"), "{md}");
    // A size that grew, and a timing that got faster beyond half the limit:
    // both shown, the size first.
    let size = s.records.iter().position(|r| r.environment == "size").unwrap();
    s.records[size].verdict.baseline_delta_pct = Some(2.5);
    let timing = s.records.iter().position(|r| r.comparison.is_some()).unwrap();
    s.records[timing].comparison.as_mut().unwrap().estimate = Some(crate::stats::Interval { point: 0.9, lo: 0.85, hi: 0.94 });
    let md = render(&s);
    let top = md.split("<details>").next().unwrap();
    assert!(top.contains("### What changed (2)"), "{md}");
    let (a, b) = (top.find(&s.records[size].metric_id).unwrap(), top.find(&format!("| {} ", s.records[timing].metric_id)).unwrap());
    assert!(a < b, "sizes first:\n{top}");
}

/// The element structure of an HTML page: one line per start tag, indented
/// by depth, with only its id and class kept (text, numbers and geometry
/// are left out), and runs of identical lines folded into one with a count.
/// A golden of this pins the page's layout without pinning every pixel.
fn html_skeleton(html: &str) -> String {
    const VOID: &[&str] = &["meta", "br", "hr", "img", "input", "link", "col", "path", "line", "rect", "circle", "polyline", "stop", "use"];
    let mut lines: Vec<String> = Vec::new();
    let mut depth = 0usize;
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        rest = &rest[end.min(rest.len())..];
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            if !VOID.contains(&name.trim()) {
                depth = depth.saturating_sub(1);
            }
            continue;
        }
        let name: String = tag.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        let attr = |key: &str| {
            let k = format!(" {key}=\"");
            tag.find(&k).map(|a| {
                let v = &tag[a + k.len()..];
                format!(" {key}=\"{}\"", &v[..v.find('"').unwrap_or(v.len())])
            })
        };
        lines.push(format!("{}{name}{}{}", "  ".repeat(depth), attr("id").unwrap_or_default(), attr("class").unwrap_or_default()));
        let self_closing = tag.ends_with('/');
        if !VOID.contains(&name.as_str()) && !self_closing {
            depth += 1;
        }
        // Script and style bodies are not markup.
        for raw in ["script", "style"] {
            if name == raw {
                if let Some(j) = rest.find(&format!("</{raw}>")) {
                    rest = &rest[j..];
                }
            }
        }
    }
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        let mut n = 1;
        while i + n < lines.len() && lines[i + n] == lines[i] {
            n += 1;
        }
        out.push_str(&lines[i]);
        if n > 1 {
            out.push_str(&format!(" x{n}"));
        }
        out.push('\n');
        i += n;
    }
    out
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
        let mut md = crate::report::attribution::markdown(&r, 15);
        // The path is the machine's; keep goldens portable.
        md = md.replace(&root().display().to_string(), "<root>");
        golden(&format!("attribution/{name}.md"), &md);
        let json = serde_json::to_string_pretty(&r).unwrap().replace(&root().display().to_string(), "<root>");
        golden(&format!("attribution/{name}.json"), &(json + "\n"));
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
    assert!(r.items.iter().filter(|i| i.kind == "function").all(|i| !i.name.contains("::")), "no twin names: {:?}", r.items);
}

/// With no name section and no twin, exported functions carry
/// their export names, and "what keeps it alive" lists real items only.
#[test]
fn stripped_module_without_a_twin_is_named_by_its_exports() {
    let r = crate::attribute::analyze(&fixture("stripped"), None).unwrap();
    let fns: Vec<&str> = r.items.iter().filter(|i| i.kind == "function").map(|i| i.name.as_str()).collect();
    assert!(fns.contains(&"fixture_sum") && fns.contains(&"fixture_copy"), "{fns:?}");
    assert!(r.note.contains("are named by their export names"), "{}", r.note);
    assert_eq!(r.attributed_bytes, r.file_bytes, "conservation holds");
    for (item, path) in &r.paths {
        assert!(!["code", "elem", "table", "data", "memory"].contains(&item.as_str()) && !item.starts_with("section"), "a section listed as an item: {item} <- {path:?}");
    }
    assert!(r.paths.keys().all(|k| fns.contains(&k.as_str()) || k.starts_with("data")), "{:?}", r.paths.keys().collect::<Vec<_>>());
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

// ------------------------------------------------------------ fixed-sample pipeline

/// Artifacts that exist only as names: the fixed measurer never opens them.
fn fixed_artifacts(cfg: &config::Config, tag: &str) -> Vec<crate::artifacts::ProfileArtifacts> {
    cfg.profiles
        .iter()
        .map(|p| {
            let dir = std::path::PathBuf::from(format!("/fixed/{tag}/{}", p.name));
            let info = ArtifactInfo {
                profile: p.name.clone(),
                input: format!("{}/input.wasm", dir.display()),
                shipped: format!("{}/shipped.wasm", dir.display()),
                named_twin: format!("{}/named.wasm", dir.display()),
                sizes: crate::size::Sizes { raw_bytes: 34_000, gzip_bytes: 15_000, brotli_bytes: 13_000, stripped_bytes: 33_000 },
                input_raw_bytes: 60_000,
                features: vec![],
                build_command: "cargo build (fixed)".into(),
                toolchain: String::new(),
                rustc: String::new(),
                optimize_command: "wasm-opt (fixed)".into(),
                optimize_cached: true,
                js_glue: None,
                attribution: vec![],
                dependencies: Some(crate::closure::Closure { command: "cargo tree (fixed)".into(), ..Default::default() }),
            };
            let references = [(
                crate::artifacts::reference_key(&["trace".to_string()]),
                crate::artifacts::Runnable { wasm: dir.join("without-trace.wasm"), glue: None },
            )]
            .into();
            crate::artifacts::ProfileArtifacts {
                info,
                shipped: dir.join("shipped.wasm"),
                named: dir.join("named.wasm"),
                glue: None,
                attribution: None,
                references,
            }
        })
        .collect()
}

fn base_from(arts: &[crate::artifacts::ProfileArtifacts]) -> crate::artifacts::Base {
    crate::artifacts::Base::of(arts, "--against base (fixed)")
}

/// Measure on fixed samples, then gate and report for real (ledger,
/// summary, markdown, HTML) into a scratch directory.
fn fixed_pipeline(name: &str, slow: Option<(&str, f64)>, base: impl Fn(&[crate::artifacts::ProfileArtifacts]) -> crate::artifacts::Base) -> Summary {
    let cfg = config::load(&root().join("budgets.toml")).unwrap();
    let envs = ["desktop".to_string()];
    let metrics: Vec<&config::MetricSpec> = cfg
        .metrics
        .iter()
        .filter(|m| matches!(m.source, config::Source::Size(_)) || envs.contains(&m.environment))
        .collect();
    let profiles: Vec<String> = cfg.profiles.iter().map(|p| p.name.clone()).collect();
    let cand = fixed_artifacts(&cfg, "candidate");
    let base_arts = fixed_artifacts(&cfg, "base");
    let base = base(&base_arts);
    let mut m = crate::measure::FixedMeasurer::new();
    if let Some((marker, factor)) = slow {
        m.slow_marker = Some(marker.into());
        m.slowdown = factor;
    }
    let plan = crate::measure::plan(&cfg, &metrics, &profiles, false);
    let measured = crate::measure::run(&cfg, &plan, &cand, Some(&base), &mut m, Default::default()).unwrap();
    let reports = std::env::temp_dir().join(format!("xtask-fixed-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&reports);
    let infos: Vec<ArtifactInfo> = cand.iter().map(|a| a.info.clone()).collect();
    let mut fp = Fingerprint::default();
    crate::measure::Measurer::fingerprint(&m, &mut fp);
    let run = crate::gating::GateRun {
        cfg: &cfg,
        metrics: &metrics,
        profiles: &profiles,
        arts: &infos,
        contributors_of: &|_| vec![],
        size_base_of: &|_, _, _| Some(34_000.0 / 1024.0),
        measured: &measured,
        commit: "fixed",
        fingerprint: &fp,
        started: 1_800_000_000,
        wall_s: 1.0,
        quick: false,
        environments: envs.to_vec(),
        run_tag: "",
        protocol: Some(crate::summary::ProtocolUsed::of(&cfg.protocol)),
        missing_reason: &|_, _| None,
    };
    let (summary, _) = crate::gating::gate_and_report(&run, &reports, &cand).unwrap();
    for f in ["summary.json", "summary.md", "report.html", "ledger.json"] {
        assert!(reports.join(f).is_file(), "{f} written");
    }
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(reports.join("summary.json")).unwrap()).unwrap();
    let violations = common::schema::check_summary(&json);
    assert!(violations.is_empty(), "{violations:#?}");
    std::fs::remove_dir_all(&reports).unwrap();
    summary
}

fn record<'a>(s: &'a Summary, id: &str, profile: &str) -> &'a Record {
    s.records.iter().find(|r| r.metric_id == id && r.profile == profile).unwrap_or_else(|| panic!("no {id} {profile}"))
}

/// Base = candidate (fixed, independent samples) gates green, and
/// every timing is compared live and judged unchanged.
#[test]
fn fixed_samples_a_over_a_is_unchanged_and_passes() {
    let s = fixed_pipeline("aa", None, base_from);
    assert_eq!(s.status, Some(Status::Pass), "{}", report::terminal::render(&s, false));
    let timed: Vec<&Record> = s.records.iter().filter(|r| r.environment == "desktop").collect();
    assert!(!timed.is_empty());
    for r in timed {
        let c = r.comparison.as_ref().unwrap_or_else(|| panic!("{} {} has no comparison", r.metric_id, r.profile));
        assert_eq!(c.verdict, crate::stats::AbVerdict::Unchanged, "{} {}: {}", r.metric_id, r.profile, c.reason);
        let ci = r.value_ci.unwrap();
        assert!(ci.lo <= r.value.unwrap() && r.value.unwrap() <= ci.hi, "{ci:?}");
        assert!(r.clock.is_none() || !r.verdict.unresolved, "{}", r.metric_id);
    }
    // 04D is relative: compared in percentage points, near zero overhead.
    let d = record(&s, "M-PERF-04D", "core-trace");
    assert_eq!(d.comparison.as_ref().unwrap().measure, "difference_pp");
    assert!(d.value.unwrap().abs() < 3.0, "{:?}", d.value);
}

/// A +15 % slowdown of the candidate is "regressed" with its
/// ratio and interval in words, and the run fails.
#[test]
fn fixed_samples_a_15_percent_slowdown_is_regressed_and_fails() {
    let s = fixed_pipeline("slow", Some(("/candidate/core-min/shipped", 1.15)), base_from);
    assert_eq!(s.status, Some(Status::Fail));
    let r = record(&s, "M-PERF-02A", "core-min");
    let c = r.comparison.as_ref().unwrap();
    assert_eq!(c.verdict, crate::stats::AbVerdict::Regressed, "{}", c.reason);
    let e = c.estimate.unwrap();
    assert!((e.point - 1.15).abs() < 0.03 && e.lo > 1.0, "{e:?}");
    assert!(r.verdict.reasons.iter().any(|x| x.contains("regressed") && x.contains("95 % CI")), "{:?}", r.verdict.reasons);
    // Other profiles were not slowed.
    assert_eq!(record(&s, "M-PERF-02A", "core-trace").comparison.as_ref().unwrap().verdict, crate::stats::AbVerdict::Unchanged);
    let md = report::markdown::Markdown.render(&report::ReportData { summary: &s, ledger: &Ledger::empty(), cdfs: &Default::default(), attributions: vec![] });
    assert!(md.contains("regressed"), "{md}");
}

/// A fixed-sample measurer that logs every scenario run it is handed.
struct Logging {
    inner: crate::measure::FixedMeasurer,
    runs: Vec<crate::measure::ScenarioRun>,
}

impl crate::measure::Measurer for Logging {
    fn run_many(&mut self, runs: &[crate::measure::ScenarioRun]) -> Vec<anyhow::Result<crate::measure::ScenarioOutput>> {
        self.runs.extend(runs.iter().cloned());
        self.inner.run_many(runs)
    }
    fn timer_resolution_ms(&self, env: &str) -> Option<f64> {
        self.inner.timer_resolution_ms(env)
    }
    fn prepare_environment(&mut self, env: &str, c: &config::Environment) -> anyhow::Result<crate::measure::EnvInfo> {
        self.inner.prepare_environment(env, c)
    }
    fn describe(&self, env: &str) -> String {
        self.inner.describe(env)
    }
}

/// An environment's tasks are measured seed by seed (every
/// task's first seed, then every task's second...), so a host spell of
/// tens of seconds lands in one seed of many keys, not in all of one key's.
#[test]
fn tasks_are_measured_seed_by_seed_across_an_environment() {
    let cfg = config::load(&root().join("budgets.toml")).unwrap();
    let metrics: Vec<&config::MetricSpec> = cfg.metrics.iter().filter(|m| ["M-PERF-02A", "M-PERF-03A", "M-PERF-04A"].contains(&m.id.as_str())).collect();
    let profiles = vec!["core-min".to_string(), "full-dev".to_string()];
    let cand = fixed_artifacts(&cfg, "candidate");
    let mut m = Logging { inner: crate::measure::FixedMeasurer::new(), runs: Vec::new() };
    let plan = crate::measure::plan(&cfg, &metrics, &profiles, false);
    assert_eq!(plan.len(), 6);
    crate::measure::run(&cfg, &plan, &cand, None, &mut m, Default::default()).unwrap();
    // Heap tasks first, all their seeds, before any timing: the page's JS
    // heap keeps something of every realm that ran before.
    let heap_runs = 2 * cfg.protocol.seeds.len();
    assert!(m.runs[..heap_runs].iter().all(|r| r.metric_id == "M-PERF-03A"), "heap first");
    assert!(m.runs[heap_runs..].iter().all(|r| r.metric_id != "M-PERF-03A"));
    m.runs.drain(..heap_runs);
    let seed_order: Vec<u64> = m.runs.iter().map(|r| r.seed).collect();
    assert!(seed_order.windows(2).all(|w| cfg.protocol.seeds.iter().position(|&s| s == w[0]) <= cfg.protocol.seeds.iter().position(|&s| s == w[1])), "seeds out of order: {seed_order:?}");
    let first_seed: std::collections::BTreeSet<(String, String)> =
        m.runs.iter().filter(|r| r.seed == cfg.protocol.seeds[0]).map(|r| (r.metric_id.clone(), r.profile.clone())).collect();
    assert_eq!(first_seed.len(), 4, "every task runs its first seed before any task runs its second: {first_seed:?}");
}

/// A relative metric runs each build paired with its reference
/// build in one block (the scenario's `h.pair`), never the reference in a
/// block of its own, and files the pair's samples as the reference arm's
/// block of the same round: a +10 % candidate reads as a +10 % overhead,
/// regressed against the base's by more than the 3-point limit.
#[test]
fn relative_metric_runs_each_build_paired_with_its_reference() {
    let cfg = config::load(&root().join("budgets.toml")).unwrap();
    let metrics: Vec<&config::MetricSpec> = cfg.metrics.iter().filter(|m| m.id == "M-PERF-04D").collect();
    let profiles = vec!["full-dev".to_string()];
    let cand = fixed_artifacts(&cfg, "candidate");
    let base = base_from(&fixed_artifacts(&cfg, "base"));
    let mut inner = crate::measure::FixedMeasurer::new();
    inner.slow_marker = Some("/candidate/full-dev/shipped".into());
    inner.slowdown = 1.10;
    let mut m = Logging { inner, runs: Vec::new() };
    let plan = crate::measure::plan(&cfg, &metrics, &profiles, false);
    let measured = crate::measure::run(&cfg, &plan, &cand, Some(&base), &mut m, Default::default()).unwrap();

    let per_arm = (cfg.protocol.blocks as usize) * cfg.protocol.seeds.len();
    let runs: Vec<(std::path::PathBuf, Option<std::path::PathBuf>)> = m.runs.iter().map(|r| (r.wasm.clone(), r.pair.as_ref().map(|p| p.wasm.clone()))).collect();
    assert_eq!(runs.len(), 2 * per_arm, "one run per block of the candidate and of the base: {runs:?}");
    for (wasm, pair) in &runs {
        let dir = wasm.parent().unwrap();
        assert!(wasm.ends_with("shipped.wasm"), "a reference build ran a block of its own: {wasm:?}");
        assert_eq!(pair.as_deref(), Some(dir.join("without-trace.wasm").as_path()), "{wasm:?} ran without its reference");
    }
    assert_eq!(runs.iter().filter(|(w, _)| w.starts_with("/fixed/candidate")).count(), per_arm);

    let r = &measured.results[&crate::ledger::key("M-PERF-04D", "full-dev", "desktop")];
    assert!((r.value - 10.0).abs() < 1.5, "overhead {}", r.value);
    let c = r.comparison.as_ref().unwrap();
    assert_eq!(c.verdict, crate::stats::AbVerdict::Regressed, "{}", c.reason);
}

/// A base without the reference build of a relative metric makes
/// that comparison "not comparable", with the reason, and not a fail.
#[test]
fn fixed_samples_missing_base_reference_is_not_comparable() {
    let s = fixed_pipeline("noref", None, |arts| {
        let mut b = base_from(arts);
        for p in b.profiles.values_mut() {
            p.references.clear();
        }
        b
    });
    let d = record(&s, "M-PERF-04D", "full-dev");
    let c = d.comparison.as_ref().unwrap();
    assert_eq!(c.verdict, crate::stats::AbVerdict::NotComparable);
    assert!(c.reason.contains("without-trace"), "{}", c.reason);
    assert_eq!(d.status, Status::Pass);
}

/// On fixed numbers: merge re-gates a shard exactly (same
/// per-seed figures and verdicts), and every key budgets.toml defines that
/// no shard carried (here the mobile and eager environments) fails and
/// names the shard to rerun.
#[test]
fn fixed_samples_merge_is_exact_and_names_missing_shards() {
    let shard = fixed_pipeline("mergeshard", None, base_from);
    let dir = common::TempDir::new("fixed-merge");
    let shard_file = dir.join("desktop.json");
    std::fs::write(&shard_file, serde_json::to_string(&shard).unwrap()).unwrap();
    // What merge sees is the shard file (serde_json reads a float back to
    // within one ulp), so compare against the file's figures.
    let shard: Summary = serde_json::from_str(&std::fs::read_to_string(&shard_file).unwrap()).unwrap();
    let reports = dir.join("merged");
    let args: Vec<String> = [shard_file.to_str().unwrap(), "--budgets", root().join("budgets.toml").to_str().unwrap(), "--reports", reports.to_str().unwrap()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(crate::cmd::merge::cli(&args).unwrap(), 1, "an incomplete merge fails");
    let merged: Summary = serde_json::from_str(&std::fs::read_to_string(reports.join("summary.json")).unwrap()).unwrap();
    for r in &shard.records {
        let m = merged.records.iter().find(|x| x.metric_id == r.metric_id && x.profile == r.profile && x.environment == r.environment).unwrap();
        assert_eq!((m.value, m.status), (r.value, r.status), "{} {}", r.metric_id, r.profile);
        assert_eq!(m.per_seed.iter().map(|s| s.value).collect::<Vec<_>>(), r.per_seed.iter().map(|s| s.value).collect::<Vec<_>>());
        assert_eq!(m.comparison, r.comparison, "the shard's live comparison is kept");
    }
    let missing: Vec<&Record> = merged.records.iter().filter(|r| r.value.is_none()).collect();
    assert!(!missing.is_empty());
    for r in &missing {
        assert_ne!(r.environment, "desktop");
        assert_eq!(r.status, Status::Fail);
        let want = format!("the shard `--profile {} --env {}` is missing", r.profile, r.environment);
        assert!(r.verdict.reasons.iter().any(|x| x.contains(&want)), "{} {}: {:?}", r.metric_id, r.profile, r.verdict.reasons);
    }
    // Shards of two commits are refused, with the error reports written.
    let mut other = shard.clone();
    other.commit = "another".into();
    let other_file = dir.join("other.json");
    std::fs::write(&other_file, serde_json::to_string(&other).unwrap()).unwrap();
    let mut two = args.clone();
    two.insert(1, other_file.display().to_string());
    let e = crate::cmd::merge::cli(&two).unwrap_err().to_string();
    assert!(e.contains("different commits"), "{e}");
    let s: Summary = serde_json::from_str(&std::fs::read_to_string(reports.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s.outcome, "error");
}

/// The host's speed: median, range and count of an environment's readings;
/// non-finite readings are dropped, and no readings give no figure.
#[test]
fn host_speed_summarizes_the_readings_of_one_environment() {
    let h = crate::summary::HostSpeed::of(&[10.0, 9.0, f64::NAN, 14.0, 9.5]).expect("readings");
    assert_eq!((h.median_ms, h.min_ms, h.max_ms, h.calls), (9.75, 9.0, 14.0, 4));
    assert_eq!(h.text(), "median 9.8 ms (9.0-14.0 over 4 calls)");
    assert!(crate::summary::HostSpeed::of(&[]).is_none());
    assert!(crate::summary::HostSpeed::of(&[f64::NAN]).is_none());
}
