//! The reports on fixed numbers: golden markdown, JSON and HTML skeletons,
//! the pull-request summary, plots and intervals.

use super::attribution::fixture;
use super::common::{self, root};
use super::record;
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
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden file {}; create it with BLESS=1",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "{} differs from the golden file (rerun with BLESS=1 if intended):\n{}",
            path.display(),
            line_diff(&expected, actual)
        );
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
            lcs[i][j] = if e[i] == a[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
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
    assert_eq!(
        line_diff("a\nb\nc\n", "a\nx\nb\nc\n"),
        "+    2 x\n",
        "one inserted line is one line of diff"
    );
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
        timer_resolution_us: Some(5.0),
        cross_origin_isolated: Some(true),
        environments: [
            (
                "desktop",
                1.0,
                Some(1.0),
                None,
                "chromium",
                "Chrome/156.0.8078.73",
                "CDP",
                5.0,
            ),
            (
                "mobile",
                4.0,
                Some(5.7),
                Some(3.96),
                "chromium",
                "Chrome/156.0.8078.73",
                "CDP",
                5.0,
            ),
            (
                "firefox-desktop",
                1.0,
                None,
                None,
                "firefox",
                "firefox/153.8.0",
                "WebDriver BiDi",
                20.0,
            ),
        ]
        .into_iter()
        .map(
            |(env, throttle, throttle_rate, throttle_achieved, kind, product, protocol, tick)| {
                let browser = crate::summary::EnvBrowser {
                    kind: kind.into(),
                    product: product.into(),
                    protocol: protocol.into(),
                    timer_resolution_us: Some(tick),
                    cross_origin_isolated: Some(true),
                };
                let host_speed = (env == "desktop").then_some(crate::summary::HostSpeed {
                    median_ms: 9.84,
                    min_ms: 9.1,
                    max_ms: 14.25,
                    calls: 230,
                });
                let e = crate::summary::EnvFingerprint {
                    throttle,
                    throttle_rate,
                    throttle_achieved,
                    js_flags: vec![],
                    browser: Some(browser),
                    host_speed,
                };
                (env.to_string(), e)
            },
        )
        .collect(),
    };
    let h = crate::stats::histogram_of(&[1.0, 1.5, 2.0, 2.5, 3.0]).unwrap();
    let blob = crate::stats::encode(&h).unwrap();
    let mk = |id: &str,
              profile: &str,
              env: &str,
              value: Option<f64>,
              unit: &str,
              warn: Option<f64>,
              hard: f64,
              kind: crate::config::GateKind,
              hist: &[bool],
              base: Option<f64>| {
        let caps = crate::config::Caps { hard, warn };
        let per_seed: Vec<SeedValue> = if env == "size" {
            vec![]
        } else {
            [11u64, 29, 42]
                .iter()
                .map(|&s| SeedValue {
                    seed: s,
                    value: value.unwrap_or(0.0),
                    samples: 5,
                    histogram: blob.clone(),
                })
                .collect()
        };
        // Timings with a base are compared live: a fixed regressed ratio.
        let comparison = base.filter(|_| env != "size").map(|b| {
            let v = value.unwrap_or(0.0);
            let est = crate::stats::Interval {
                point: v / b,
                lo: v / b - 0.1,
                hi: v / b + 0.1,
            };
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
                identical_inputs: false,
                min_detectable: Some(1.146),
                resolves_limit: Some(true),
            };
            c.reason = crate::measure::explain(&c, &est, false);
            c
        });
        let value_ci = value
            .filter(|_| env != "size")
            .map(|v| crate::stats::Interval {
                point: v,
                lo: v * 0.97,
                hi: v * 1.03,
            });
        let clock =
            value
                .filter(|_| env != "size" && unit != "MiB")
                .map(|v| crate::summary::ClockCheck {
                    tick_in_unit: if unit == "us" { 5.0 / 512.0 } else { 0.005 },
                    ticks: v / if unit == "us" { 5.0 / 512.0 } else { 0.005 },
                    floor_ticks: 10.0,
                });
        let verdict = gate::verdict(&gate::Observation {
            value,
            value_ci: value_ci.as_ref(),
            kind,
            caps: &caps,
            history: &hist
                .iter()
                .map(|&b| gate::Past {
                    value: Some(if b { warn.unwrap_or(hard) + 1.0 } else { 0.0 }),
                    ci: None,
                })
                .collect::<Vec<_>>(),
            size_base: base.filter(|_| env == "size"),
            comparison: comparison.as_ref(),
            clock: clock.as_ref(),
            growth: None,
            retried: &[],
            consecutive_warns_to_fail: 2,
            baseline_regression_pct: 10.0,
            accepted: None,
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
            kind: if kind == crate::config::GateKind::Hard {
                "hard".into()
            } else {
                "warn-then-block".into()
            },
            status: verdict.status,
            seed_set: per_seed.iter().map(|s| s.seed).collect(),
            commands: vec!["cargo xtask budget".into()],
            artifact_paths: vec![format!("target/budget/{profile}/shipped.wasm")],
            method: "fixed".into(),
            histogram: if env == "size" {
                None
            } else {
                Some(blob.clone())
            },
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
            // Heap samples time nothing; a timing spends about half its
            // page time inside its windows.
            cost: (env != "size").then(|| crate::summary::Cost {
                timed_s: if unit == "MiB" { 0.0 } else { 21.5 },
                measuring_s: 40.0,
                setup_s: 0.0,
            }),
            identity: None,
            reused: None,
        }
    };
    use crate::config::GateKind::*;
    let records = vec![
        mk(
            "M-PERF-01A",
            "core-min",
            "size",
            Some(31.8),
            "KiB",
            None,
            650.0,
            Hard,
            &[],
            Some(31.8),
        ),
        mk(
            "M-PERF-01B",
            "core-min",
            "size",
            Some(240.0),
            "KiB",
            None,
            220.0,
            Hard,
            &[],
            None,
        ),
        mk(
            "M-PERF-02A",
            "core-min",
            "desktop",
            Some(1.4),
            "ms",
            None,
            60.0,
            Hard,
            &[],
            Some(1.0),
        ),
        mk(
            "M-PERF-04A",
            "core-min",
            "desktop",
            Some(9.0),
            "us",
            Some(8.0),
            12.0,
            WarnThenBlock,
            &[],
            None,
        ),
        mk(
            "M-PERF-04B",
            "core-min",
            "desktop",
            Some(16.0),
            "us",
            Some(15.0),
            24.0,
            WarnThenBlock,
            &[true],
            None,
        ),
        mk(
            "M-PERF-03A",
            "core-min",
            "desktop",
            None,
            "MiB",
            None,
            24.0,
            Hard,
            &[],
            None,
        ),
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
        cost: [("desktop".to_string(), crate::summary::Cost { timed_s: 64.5, measuring_s: 160.0, setup_s: 9.5 })].into_iter().collect(),
        acceptances: vec![],
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
            let base = r
                .comparison
                .as_ref()
                .and_then(|c| c.base_value.zip(r.value))
                .map(|(b, v)| candidate.iter().map(|(x, f)| (x * b / v, *f)).collect());
            Some((
                crate::ledger::key(&r.metric_id, &r.profile, &r.environment),
                crate::stats::Cdf {
                    candidate,
                    base,
                    quantile: 0.95,
                },
            ))
        })
        .collect()
}

#[test]
fn distribution_plots_span_their_data_and_name_an_off_scale_cap() {
    let s = fixed_summary();
    let mut r = s
        .records
        .iter()
        .find(|r| r.histogram.is_some())
        .unwrap()
        .clone();
    let cdf = |xs: &[f64]| crate::stats::Cdf {
        candidate: xs
            .iter()
            .enumerate()
            .map(|(i, x)| (*x, (i + 1) as f64 / xs.len() as f64))
            .collect(),
        base: None,
        quantile: 0.95,
    };
    let seeds = |r: &mut crate::summary::Record, v: &[f64]| {
        for (sv, x) in r.per_seed.iter_mut().zip(v) {
            sv.value = *x;
        }
    };
    let render = |r: &crate::summary::Record, c: &crate::stats::Cdf| {
        let s1 = Summary {
            records: vec![r.clone()],
            ..s.clone()
        };
        let cdfs: std::collections::BTreeMap<String, crate::stats::Cdf> = [(
            crate::ledger::key(&r.metric_id, &r.profile, &r.environment),
            c.clone(),
        )]
        .into();
        let html = report::html::Html.render(&report::ReportData {
            summary: &s1,
            ledger: &Ledger::empty(),
            cdfs: &cdfs,
            attributions: vec![],
        });
        html[html.find("id=\"cdfs\"").unwrap()..].to_string()
    };
    // Cold init at 2 % of a 100 ms cap: the axis is the data's, the cap in words.
    r.unit = "ms".into();
    (r.threshold_hard, r.threshold_warn) = (100.0, Some(80.0));
    seeds(&mut r, &[2.1, 2.3, 2.2]);
    let html = render(&r, &cdf(&[1.7, 2.0, 2.2, 2.6, 3.0]));
    assert!(
        html.contains("cap at 100.0 ms, off scale; warn at 80.00 ms, off scale"),
        "{html}"
    );
    assert!(!html.contains(">cap 100"), "{html}");
    assert!(!html.contains("log scale"));
    // Three seed points on the p95 line, ticks in the data's range.
    assert_eq!(html.matches("<title>seed ").count(), 3, "{html}");
    assert!(
        html.contains(">2.0</text>") && html.contains(">3.0</text>"),
        "{html}"
    );
    // Near the cap: the line is drawn, nothing is off scale.
    r.threshold_hard = 3.5;
    r.threshold_warn = None;
    let html = render(&r, &cdf(&[1.7, 2.0, 2.2, 2.6, 3.0]));
    assert!(
        html.contains(">cap ") && !html.contains("off scale"),
        "{html}"
    );
    // Over three decades: a log axis.
    let html = render(&r, &cdf(&[0.01, 0.1, 2.0, 30.0]));
    assert!(
        html.contains("log scale") && html.contains(">10</text>"),
        "{html}"
    );
}

#[test]
fn an_interval_is_printed_to_its_value_s_precision() {
    use crate::report::terminal::ci_str;
    let s = fixed_summary();
    let mut r = record(&s, "M-PERF-02A", "core-min").clone();
    let with = |r: &mut Record, value: f64, lo: f64, hi: f64| {
        r.value = Some(value);
        r.value_ci = Some(crate::stats::Interval {
            point: value,
            lo,
            hi,
        });
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
    assert_eq!(
        statuses,
        vec![
            Status::Pass,
            Status::Fail,
            Status::Fail,
            Status::Warn,
            Status::Fail,
            Status::Fail
        ]
    );
    let ledger = Ledger::empty();
    let cdfs = fixed_cdfs(&s);
    assert!(cdfs.len() >= 3 && cdfs.values().any(|c| c.base.is_some()));
    let attr = crate::attribute::analyze(&fixture("named"), None).unwrap();
    let data = report::ReportData {
        summary: &s,
        ledger: &ledger,
        cdfs: &cdfs,
        attributions: vec![("core-min", &attr)],
    };
    golden("summary.md", &report::markdown::Markdown.render(&data));
    let json = report::Json.render(&data);
    let violations = common::schema::check_summary(&serde_json::from_str(&json).unwrap());
    assert!(violations.is_empty(), "{violations:#?}");
    golden("summary.json", &json);
    golden("terminal.txt", &report::terminal::render(&s, false));
    golden(
        "report.html.skeleton",
        &html_skeleton(&report::html::Html.render(&data)),
    );
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
            c.estimate = Some(crate::stats::Interval {
                point: 1.01,
                lo: 0.97,
                hi: 1.05,
            });
        }
    }
    s.status = Some(Status::Pass);
    let render = |s: &Summary| {
        report::markdown::Markdown.render(&report::ReportData {
            summary: s,
            ledger: &Ledger::empty(),
            cdfs: &Default::default(),
            attributions: vec![],
        })
    };
    let md = render(&s);
    let visible: Vec<&str> = md.split("<details>").next().unwrap().lines().collect();
    assert!(
        visible.len() <= 15,
        "{} visible lines:\n{md}",
        visible.len()
    );
    assert!(
        md.contains("**6 records: 0 fail · 0 warn · 6 pass**") && md.contains("Nothing changed"),
        "{md}"
    );
    // The full table is still there, folded.
    assert!(
        md.split("<details>")
            .nth(1)
            .unwrap()
            .contains("| M-PERF-02A M-PERF-02A name |"),
        "{md}"
    );
    // A size that grew, and a timing that got faster beyond half the limit:
    // both shown, the size first.
    let size = s
        .records
        .iter()
        .position(|r| r.environment == "size")
        .unwrap();
    s.records[size].verdict.baseline_delta_pct = Some(2.5);
    let timing = s
        .records
        .iter()
        .position(|r| r.comparison.is_some())
        .unwrap();
    s.records[timing].comparison.as_mut().unwrap().estimate = Some(crate::stats::Interval {
        point: 0.9,
        lo: 0.85,
        hi: 0.94,
    });
    let md = render(&s);
    let top = md.split("<details>").next().unwrap();
    assert!(top.contains("### What changed (2)"), "{md}");
    let (a, b) = (
        top.find(&s.records[size].metric_id).unwrap(),
        top.find(&format!("| {} ", s.records[timing].metric_id))
            .unwrap(),
    );
    assert!(a < b, "sizes first:\n{top}");

    // An accepted regression: above the fold, with its change, bound,
    // commit, author and reason; a trailer no key needed says so.
    let trailer = |metric: &str, bound| crate::accept::Acceptance {
        metric: metric.into(),
        profile: "core-min".into(),
        environment: "*".into(),
        bound,
        reason: "adds the zstd codec".into(),
        commit: "0123456789abcdef0123".into(),
        author: "Ada <ada@example.com>".into(),
        line: 3,
    };
    let used = trailer(
        &s.records[size].metric_id,
        crate::accept::Bound::Percent(15.0),
    );
    s.records[size].status = Status::Accepted;
    s.records[size].verdict.acceptance = Some(crate::gate::Applied {
        acceptance: used.clone(),
        change: "+12.0%".into(),
        within: true,
    });
    s.acceptances = vec![
        used,
        trailer("M-PERF-04C", crate::accept::Bound::Ratio(1.1)),
    ];
    let md = render(&s);
    let top = md.split("<details>").next().unwrap();
    assert!(top.contains("· 1 accepted**"), "{top}");
    assert!(
        top.contains("### Accepted against the base (2), by `Budget-Accept:` trailers"),
        "{top}"
    );
    assert!(
        top.contains(&format!(
            "- {} core-min size: +12.0% against the base, within the accepted +15% (commit 0123456789ab, Ada <ada@example.com>): adds the zstd codec",
            s.records[size].metric_id
        )),
        "{top}"
    );
    assert!(
        top.contains("- not needed: M-PERF-04C core-min * x1.1 (commit 0123456789ab)"),
        "{top}"
    );
}

/// The element structure of an HTML page: one line per start tag, indented
/// by depth, with only its id and class kept (text, numbers and geometry
/// are left out), and runs of identical lines folded into one with a count.
/// A golden of this pins the page's layout without pinning every pixel.
fn html_skeleton(html: &str) -> String {
    const VOID: &[&str] = &[
        "meta", "br", "hr", "img", "input", "link", "col", "path", "line", "rect", "circle",
        "polyline", "stop", "use",
    ];
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
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let attr = |key: &str| {
            let k = format!(" {key}=\"");
            tag.find(&k).map(|a| {
                let v = &tag[a + k.len()..];
                format!(" {key}=\"{}\"", &v[..v.find('"').unwrap_or(v.len())])
            })
        };
        lines.push(format!(
            "{}{name}{}{}",
            "  ".repeat(depth),
            attr("id").unwrap_or_default(),
            attr("class").unwrap_or_default()
        ));
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

#[test]
fn the_cost_figure_is_wall_over_timed_seconds_per_environment_and_over_all() {
    use crate::summary::Cost;
    let c = Cost {
        timed_s: 50.0,
        measuring_s: 90.0,
        setup_s: 10.0,
    };
    assert_eq!((c.wall_s(), c.ratio()), (100.0, Some(2.0)));
    assert_eq!(c.text(), "100 s (50 s in timed windows, x2.00)");
    // Heap samples time nothing: no ratio, said in words.
    let heap = Cost {
        timed_s: 0.0,
        measuring_s: 12.0,
        setup_s: 0.0,
    };
    assert_eq!(
        (heap.ratio(), heap.text()),
        (None, "12 s (no timed windows)".to_string())
    );
    let mut s = fixed_summary();
    s.cost.insert(
        "mobile".into(),
        Cost {
            timed_s: 35.5,
            measuring_s: 60.0,
            setup_s: 20.0,
        },
    );
    assert_eq!(
        crate::report::cost_lines(&s),
        [
            "desktop: 170 s (64 s in timed windows, x2.63)",
            "mobile: 80 s (36 s in timed windows, x2.25)",
            "all: 250 s (100 s in timed windows, x2.50)"
        ]
    );
    // The costliest keys by wall time, ties in record order.
    s.records[3].cost = Some(Cost {
        timed_s: 30.0,
        measuring_s: 45.0,
        setup_s: 0.0,
    });
    assert_eq!(
        crate::report::costliest(&s, 2),
        [
            "M-PERF-04A core-min desktop: 45 s (30 s in timed windows, x1.50)",
            "M-PERF-02A core-min desktop: 40 s (22 s in timed windows, x1.86)"
        ]
    );
}
