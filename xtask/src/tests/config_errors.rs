//! Configuration errors, each located by file, key and line.

use super::common::{root, scratch};
use crate::config;
use std::path::Path;

fn load_err(dir: &Path) -> config::ConfigError {
    config::load(&dir.join("budgets.toml")).expect_err("config should be rejected")
}

#[test]
fn the_shipped_config_loads() {
    let c = config::load(&root().join("budgets.toml")).unwrap();
    assert_eq!(c.profiles.len(), 3);
    assert_eq!(c.metrics.len(), 21);
    assert_eq!(
        c.environments["firefox-desktop"].browser,
        config::BrowserKind::Firefox
    );
    assert_eq!(
        c.environments["webkit-desktop"].browser,
        config::BrowserKind::Webkit
    );
    assert_eq!(
        c.environments["desktop"].browser,
        config::BrowserKind::Chromium,
        "the default"
    );
    assert_eq!(
        c.metrics
            .iter()
            .filter(|m| m.environment == "firefox-desktop")
            .count(),
        7
    );
    let d = c.metrics.iter().find(|m| m.id == "M-PERF-04D").unwrap();
    assert_eq!(
        d.reference_without.as_deref(),
        Some(&["trace".to_string()][..])
    );
    assert!(c.environments["desktop-eager"]
        .js_flags
        .contains(&"--no-wasm-lazy-compilation".to_string()));
    assert_eq!(
        c.metrics
            .iter()
            .find(|m| m.id == "M-PERF-04D")
            .unwrap()
            .caps
            .len(),
        2
    );
}

#[test]
fn malformed_toml_names_file_and_line() {
    let d = scratch("malformed", |t| t.replace("batch = 512", "batch = = 512"));
    let e = load_err(&d);
    let line = std::fs::read_to_string(d.join("budgets.toml"))
        .unwrap()
        .lines()
        .position(|l| l.contains("batch = ="))
        .unwrap()
        + 1;
    assert_eq!(e.line, Some(line), "{e}");
    assert!(e.to_string().contains("budgets.toml:"), "{e}");
}

#[test]
fn unknown_key_names_key_and_line() {
    let d = scratch("unknown", |t| {
        t.replace("batch = 512", "batch = 512\nbatchh = 3")
    });
    let e = load_err(&d);
    assert!(e.message.contains("unknown field `batchh`"), "{e}");
    assert_eq!(e.key, "protocol.batchh", "{e}");
    assert!(e.line.is_some());
}

/// Each zero of `[protocol]` is reported under its own key and line (they
/// were once all reported as `protocol.batch`, pointing at the wrong line).
#[test]
fn a_zero_protocol_count_names_its_own_key_and_line() {
    let d = scratch("zeroheap", |t| {
        t.replace("heap_samples = 500", "heap_samples = 0")
    });
    let e = load_err(&d);
    assert_eq!(e.key, "protocol.heap_samples", "{e}");
    let line = std::fs::read_to_string(d.join("budgets.toml"))
        .unwrap()
        .lines()
        .position(|l| l.starts_with("heap_samples = 0"))
        .unwrap()
        + 1;
    assert_eq!(e.line, Some(line), "{e}");
}

/// The protocol's figures are written in one place: the shipped budgets
/// file, a key's default and what `init` writes all agree with it.
#[test]
fn the_protocol_defaults_are_the_shipped_protocol() {
    let shipped = config::load(&root().join("budgets.toml")).unwrap();
    let d = config::Protocol::default();
    assert_eq!(
        (
            d.seeds.clone(),
            d.latency_iterations,
            d.blocks,
            d.batch,
            d.clock_floor_ticks
        ),
        (
            shipped.protocol.seeds.clone(),
            shipped.protocol.latency_iterations,
            shipped.protocol.blocks,
            shipped.protocol.batch,
            shipped.protocol.clock_floor_ticks
        )
    );
    let written: toml::Table = toml::from_str(&d.toml()).unwrap();
    assert_eq!(
        written["protocol"]["blocks"].as_integer(),
        Some(d.blocks as i64)
    );
    let e: toml::Table = toml::from_str(&config::Escalation::default().toml()).unwrap();
    assert_eq!(e["escalation"]["ledger_window"].as_integer(), Some(8));
}

#[test]
fn missing_cap_for_a_profile() {
    let d = scratch("nocap", |t| {
        t.replace(
            "hard = { core-min = 650, core-trace = 900, full-dev = 1300 }",
            "hard = { core-min = 650, core-trace = 900 }",
        )
    });
    let e = load_err(&d);
    assert!(
        e.message.contains("no hard cap for profile `full-dev`"),
        "{e}"
    );
    assert!(
        e.key.contains("M-PERF-01A") && e.key.ends_with("hard.full-dev"),
        "{e}"
    );
    let line = std::fs::read_to_string(d.join("budgets.toml"))
        .unwrap()
        .lines()
        .position(|l| l.contains("core-trace = 900 }"))
        .unwrap()
        + 1;
    assert_eq!(e.line, Some(line), "{e}");
}

#[test]
fn negative_and_non_numeric_caps() {
    let d = scratch("neg", |t| t.replace("core-min = 650,", "core-min = -650,"));
    let e = load_err(&d);
    assert!(e.message.contains("non-negative"), "{e}");
    assert!(e.key.ends_with("hard.core-min"), "{e}");
    let d = scratch("nan", |t| {
        t.replace("core-min = 650,", "core-min = \"lots\",")
    });
    let e = load_err(&d);
    assert!(e.message.contains("must be a number, found string"), "{e}");
    assert!(e.line.is_some());
}

#[test]
fn profile_with_missing_feature() {
    let d = scratch("feature", |t| t);
    let p = d.join("profiles/core-trace.toml");
    std::fs::write(
        &p,
        std::fs::read_to_string(&p)
            .unwrap()
            .replace("[\"trace\"]", "[\"trace\", \"turbo\"]"),
    )
    .unwrap();
    let e = load_err(&d);
    assert!(e.file.ends_with("core-trace.toml"), "{e}");
    assert!(
        e.message.contains("no feature `turbo`") && e.hint.contains("trace"),
        "{e}"
    );
    assert_eq!(e.key, "cargo.features");
    assert!(e.line.is_some());
}

#[test]
fn cargo_settings_in_a_profile_file_are_checked() {
    let d = scratch("settings", |t| t);
    let p = d.join("profiles/core-min.toml");
    let base = std::fs::read_to_string(&p).unwrap();
    std::fs::write(
        &p,
        base.replace(
            "[wasm_opt]",
            "[cargo.settings]\nopt-level = \"z\"\nlto = \"fat\"\n\n[wasm_opt]",
        ),
    )
    .unwrap();
    let c = config::load(&d.join("budgets.toml")).unwrap();
    let s = &c.profile("core-min").unwrap().cargo_settings;
    assert_eq!(s.get("lto").and_then(|v| v.as_str()), Some("fat"));
    // An unknown key, and a strip that would take the names attribution needs.
    std::fs::write(
        &p,
        base.replace(
            "[wasm_opt]",
            "[cargo.settings]\nopt-levle = \"z\"\n\n[wasm_opt]",
        ),
    )
    .unwrap();
    let e = load_err(&d);
    assert!(
        e.file.ends_with("core-min.toml")
            && e.key == "cargo.settings.opt-levle"
            && e.hint.contains("opt-level"),
        "{e}"
    );
    assert!(e.line.is_some(), "{e}");
    std::fs::write(
        &p,
        base.replace(
            "[wasm_opt]",
            "[cargo.settings]\nstrip = \"symbols\"\n\n[wasm_opt]",
        ),
    )
    .unwrap();
    let e = load_err(&d);
    assert!(
        e.key == "cargo.settings.strip"
            && e.message.contains("removes the names attribution needs"),
        "{e}"
    );
}

#[test]
fn missing_scenarios_are_checked_only_where_scenarios_run() {
    // `size` loads a budgets file whose scenarios are not written yet;
    // `budget` (check_scenarios) names the metric, file and line.
    let d = scratch("noscen", |t| {
        t.replace(
            &format!(
                "scenarios = \"{}\"",
                root().join("runtime/scenarios").display()
            ),
            "scenarios = \"not-yet\"",
        )
    });
    let c = config::load(&d.join("budgets.toml")).expect("sizes need no scenario");
    let metrics: Vec<&config::MetricSpec> = c.metrics.iter().collect();
    let e = c.check_scenarios(&metrics).unwrap_err();
    assert!(e.message.contains("not-yet/heap.js does not exist"), "{e}");
    assert!(
        e.key.contains("M-PERF-03A") && e.key.ends_with(".source"),
        "{e}"
    );
    assert_eq!(
        e.line,
        Some(line_containing(&d, "source = \"scenario:heap\"")),
        "{e}"
    );
    let sizes: Vec<&config::MetricSpec> = c
        .metrics
        .iter()
        .filter(|m| matches!(m.source, config::Source::Size(_)))
        .collect();
    assert!(c.check_scenarios(&sizes).is_ok());
}

#[test]
fn the_dependency_policy_is_checked_at_its_line() {
    let shipped = config::load(&root().join("budgets.toml")).unwrap();
    let policies = shipped
        .dependencies
        .expect("the shipped budgets forbid the contract's set");
    assert_eq!(policies.len(), 3);
    assert!(policies["core-min"]
        .forbidden
        .iter()
        .any(|r| r.name == "signal-hook-registry"));

    let d = scratch("depsrule", |t| {
        t.replace("forbidden = [\"libc\",", "forbidden = [\"libc@banana\",")
    });
    let e = load_err(&d);
    assert_eq!(e.key, "dependencies.forbidden", "{e}");
    assert!(
        e.message.contains("`banana` is not a version requirement"),
        "{e}"
    );
    assert!(e.hint.contains("nix@<0.27"), "{e}");
    assert_eq!(e.line, Some(line_containing(&d, "libc@banana")), "{e}");

    let d = scratch("depsprofile", |t| {
        t.replace(
            "# [dependencies.profile.full-dev]\n# allow = [...]",
            "[dependencies.profile.full-deb]\nallow = []",
        )
    });
    let e = load_err(&d);
    assert_eq!(e.key, "dependencies.profile.full-deb", "{e}");
    assert!(e.hint.contains("core-min, core-trace, full-dev"), "{e}");
    assert_eq!(
        e.line,
        Some(line_containing(&d, "[dependencies.profile.full-deb]")),
        "{e}"
    );

    let d = scratch("depsallow", |t| {
        t.replace(
            "# allow = [{ crate = \"libc\"",
            "allow = [{ krate = \"libc\"",
        )
    });
    let e = load_err(&d);
    assert!(e.message.contains("unknown field `krate`"), "{e}");
    assert!(e.line.is_some(), "{e}");

    let d = scratch("depsextra", |t| {
        t.replace("# [dependencies.profile.full-dev]\n# allow = [...]", "[dependencies.profile.full-dev]\nforbidden = [\"getrandom\"]\nallow = [{ crate = \"libc\", reason = \"types only\" }]")
    });
    let c = config::load(&d.join("budgets.toml")).unwrap();
    let p = c.dependencies.unwrap();
    assert!(
        p["full-dev"]
            .forbidden
            .iter()
            .any(|r| r.name == "getrandom")
            && !p["core-min"]
                .forbidden
                .iter()
                .any(|r| r.name == "getrandom")
    );
    assert_eq!(p["full-dev"].allow[0].reason, "types only");
}

fn line_containing(d: &Path, needle: &str) -> usize {
    std::fs::read_to_string(d.join("budgets.toml"))
        .unwrap()
        .lines()
        .position(|l| l.contains(needle))
        .expect(needle)
        + 1
}

#[test]
fn duplicate_seeds_are_rejected() {
    let d = scratch("dupseeds", |t| {
        t.replace("seeds = [11, 29, 42, 73, 101]", "seeds = [11, 11, 11]")
    });
    let e = load_err(&d);
    assert!(e.message.contains("seed 11 appears more than once"), "{e}");
    assert_eq!(e.key, "protocol.seeds[1]", "{e}");
    assert_eq!(
        e.line,
        Some(line_containing(&d, "seeds = [11, 11, 11]")),
        "{e}"
    );
}

#[test]
fn non_finite_numbers_are_rejected_anywhere() {
    let d = scratch("nanpct", |t| {
        t.replace(
            "baseline_regression_pct = 10.0",
            "baseline_regression_pct = nan",
        )
    });
    let e = load_err(&d);
    assert_eq!(e.key, "escalation.baseline_regression_pct", "{e}");
    assert!(e.message.contains("`nan` is not a finite number"), "{e}");
    assert_eq!(
        e.line,
        Some(line_containing(&d, "baseline_regression_pct = nan")),
        "{e}"
    );
    let d = scratch("infcap", |t| {
        t.replace("core-min = 650,", "core-min = inf,")
    });
    let e = load_err(&d);
    assert!(
        e.key.starts_with("metric[") && e.key.ends_with("hard.core-min"),
        "{e}"
    );
    assert_eq!(e.line, Some(line_containing(&d, "core-min = inf,")), "{e}");
    let d = scratch("nanpp", |t| {
        t.replace("regression_pp = 3.0", "regression_pp = -nan")
    });
    assert_eq!(load_err(&d).key, "comparison.regression_pp");
}

#[test]
fn a_short_ledger_window_is_rejected() {
    let d = scratch("window", |t| {
        t.replace("ledger_window = 8", "ledger_window = 3")
    });
    let e = load_err(&d);
    assert_eq!(e.key, "escalation.ledger_window", "{e}");
    assert_eq!(
        e.line,
        Some(line_containing(&d, "ledger_window = 3")),
        "{e}"
    );
}

#[test]
fn an_environment_error_points_at_its_own_line() {
    let d = scratch("throttle", |t| {
        t.replace("cpu_throttle = 4.0", "cpu_throttle = 0.5")
    });
    let e = load_err(&d);
    assert_eq!(e.key, "environment.mobile.cpu_throttle", "{e}");
    assert_eq!(
        e.line,
        Some(line_containing(&d, "cpu_throttle = 0.5")),
        "{e}"
    );
}

#[test]
fn a_throttled_or_v8_flagged_firefox_environment_is_refused_at_its_line() {
    let ff = "browser = \"firefox\"\ncpu_throttle = 1.0";
    let d = scratch("ffthrottle", |t| {
        t.replace(ff, "browser = \"firefox\"\ncpu_throttle = 4.0")
    });
    let e = load_err(&d);
    assert_eq!(e.key, "environment.firefox-desktop.cpu_throttle", "{e}");
    assert_eq!(e.line, Some(firefox_line(&d, "cpu_throttle")), "{e}");
    assert!(e.message.contains("Firefox cannot be CPU-throttled"), "{e}");

    let d = scratch("ffflags", |t| {
        t.replace(
            ff,
            &format!("{ff}\njs_flags = [\"--no-wasm-lazy-compilation\"]"),
        )
    });
    let e = load_err(&d);
    assert_eq!(e.key, "environment.firefox-desktop.js_flags", "{e}");
    assert_eq!(e.line, Some(firefox_line(&d, "js_flags")), "{e}");
}

/// Each engine's refusals come from its capability table: WebKit, like
/// Firefox, takes no throttling, no V8 flags and no JS heap metric.
#[test]
fn webkit_refuses_what_its_capabilities_lack() {
    let wk = "browser = \"webkit\"\ncpu_throttle = 1.0";
    let d = scratch("wkthrottle", |t| {
        t.replace(wk, "browser = \"webkit\"\ncpu_throttle = 2.0")
    });
    let e = load_err(&d);
    assert_eq!(e.key, "environment.webkit-desktop.cpu_throttle", "{e}");
    assert!(e.message.contains("WebKit cannot be CPU-throttled"), "{e}");

    let d = scratch("wkheap", |t| {
        t.replace(
            "environment = \"webkit-desktop\"\n# WebKit forces no GC and gives no JS heap figure: this covers the linear\n# memory alone, with the same growth check (a leak in wasm memory fails).\ncovers = \"wasm-memory\"\n",
            "environment = \"webkit-desktop\"\n",
        )
    });
    let e = load_err(&d);
    assert!(
        e.key.contains("M-PERF-03A-webkit") && e.key.ends_with(".environment"),
        "{e}"
    );
    assert!(e.message.contains("a WebKit environment"), "{e}");
}

/// The line of `key` inside `[environment.firefox-desktop]`.
fn firefox_line(d: &Path, key: &str) -> usize {
    let text = std::fs::read_to_string(d.join("budgets.toml")).unwrap();
    let start = text
        .lines()
        .position(|l| l == "[environment.firefox-desktop]")
        .unwrap();
    start
        + text
            .lines()
            .skip(start)
            .position(|l| l.starts_with(key))
            .unwrap()
        + 1
}

#[test]
fn a_heap_metric_in_a_firefox_environment_is_refused_naming_why() {
    let d = scratch("ffheap", |t| move_03a(&t, ""));
    let e = load_err(&d);
    assert!(
        e.key.contains("M-PERF-03A") && e.key.ends_with(".environment"),
        "{e}"
    );
    assert_eq!(
        e.line,
        Some(line_containing(&d, "environment = \"firefox-desktop\"")),
        "{e}"
    );
    assert!(
        e.message
            .contains("no forced GC and no precise JS heap figure"),
        "{e}"
    );
    assert!(e.to_string().contains("covers = \"wasm-memory\""), "{e}");
}

/// budgets.toml with M-PERF-03A (a heap metric) moved to the Firefox
/// environment, and `extra` lines after its environment.
fn move_03a(t: &str, extra: &str) -> String {
    let at = t.find("id = \"M-PERF-03A\"").unwrap();
    let (head, tail) = t.split_at(at);
    format!(
        "{head}{}",
        tail.replacen(
            "environment = \"desktop\"",
            &format!("environment = \"firefox-desktop\"\n{extra}"),
            1
        )
    )
}

/// What an engine cannot do is refused from its capability table; what it
/// can (the linear memory alone) loads.
#[test]
fn a_heap_metric_says_what_it_covers() {
    let d = scratch("ffwasmheap", |t| move_03a(&t, "covers = \"wasm-memory\""));
    let c = config::load(&d.join("budgets.toml")).unwrap();
    let m = c.metrics.iter().find(|m| m.id == "M-PERF-03A").unwrap();
    assert!(m.wasm_memory_only && m.is_heap());
    let d = scratch("covers-odd", |t| move_03a(&t, "covers = \"js-heap\""));
    let e = load_err(&d);
    assert!(
        e.key.ends_with(".covers") && e.message.contains("unknown heap coverage"),
        "{e}"
    );
    assert_eq!(
        e.line,
        Some(line_containing(&d, "covers = \"js-heap\"")),
        "{e}"
    );
    let d = scratch("covers-timing", |t| {
        t.replacen(
            "source = \"scenario:cancel\"",
            "source = \"scenario:cancel\"\ncovers = \"wasm-memory\"",
            1,
        )
    });
    let e = load_err(&d);
    assert!(e.message.contains("not a heap metric"), "{e}");
}

#[test]
fn a_timing_may_set_its_own_blocks_within_the_protocol() {
    // The shipped 04B takes 16 blocks of 125 samples; 04A takes 32, past
    // 2000/100, so each block keeps 100 samples and the seed takes 3200.
    let c = config::load(&root().join("budgets.toml")).unwrap();
    let planned = |id: &str| {
        let m = c.metrics.iter().find(|m| m.id == id).unwrap();
        let plan = crate::measure::plan(&c, &[m], &["core-min".into()], false);
        (m.blocks, plan[0].blocks, plan[0].iterations)
    };
    assert_eq!(planned("M-PERF-04B"), (Some(16), 16, 125));
    assert_eq!(planned("M-PERF-04A"), (Some(32), 32, 100));
    // --quick keeps the protocol's blocks and its few samples.
    let m = c.metrics.iter().find(|m| m.id == "M-PERF-04A").unwrap();
    let quick = crate::measure::plan(&c, &[m], &["core-min".into()], true);
    assert_eq!(
        (quick[0].blocks, quick[0].iterations),
        (
            c.protocol.blocks,
            c.protocol.quick_iterations.div_ceil(c.protocol.blocks)
        )
    );
    // More than the cap, or fewer than 2: named, with its line.
    for bad in ["blocks = 65", "blocks = 1"] {
        let d = scratch("blocks-many", |t| t.replacen("blocks = 32", bad, 1));
        let e = load_err(&d);
        assert!(
            e.key.ends_with("(M-PERF-04A).blocks") && e.message.contains("at most 64"),
            "{bad}: {e}"
        );
        assert_eq!(e.line, Some(line_containing(&d, bad)), "{e}");
    }
    // A heap metric has no blocks.
    let d = scratch("blocks-heap", |t| {
        t.replacen("id = \"M-PERF-03A\"", "id = \"M-PERF-03A\"\nblocks = 16", 1)
    });
    let e = load_err(&d);
    assert!(e.message.contains("only a timing"), "{e}");
}
