//! The real binary on real builds: exit codes, error summaries, the size
//! gate end to end.

mod common;
use common::scratch;

fn xtask(args: &[&str]) -> std::process::Output {
    common::xtask_cmd().args(args).output().unwrap()
}

#[test]
fn an_unknown_profile_or_environment_names_the_valid_ones_in_every_command() {
    // A scratch config, so the error reports land in its reports/.
    let d = scratch("unknownsel", |t| t);
    let b = d.join("budgets.toml");
    let b = b.to_str().unwrap();
    for cmd in ["budget", "calibrate"] {
        let out = xtask(&[cmd, "--budgets", b, "--env", "typo"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(err.contains("unknown environment `typo`; valid: desktop, desktop-eager, firefox-desktop, mobile"), "{cmd}: {err}");
    }
    for cmd in ["size", "budget", "calibrate"] {
        let out = xtask(&[cmd, "--budgets", b, "--profile", "core-mni"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(
            err.contains("unknown profile `core-mni`; valid: core-min, core-trace, full-dev"),
            "{cmd}: {err}"
        );
    }
}

#[test]
fn bad_config_exits_2_and_leaves_no_valid_summary() {
    let d = scratch("exit2", |t| t.replace("batch = 512", "batch = = 512"));
    let reports = d.join("reports");
    let out = xtask(&[
        "size",
        "--budgets",
        d.join("budgets.toml").to_str().unwrap(),
        "--reports",
        reports.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("budgets.toml:") && !err.contains("panicked"),
        "{err}"
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(s["outcome"], "error");
    assert!(
        common::schema::check_summary(&s).is_empty(),
        "{:?}",
        common::schema::check_summary(&s)
    );
    assert_eq!(s["records"].as_array().unwrap().len(), 0);
}

#[test]
fn without_budgets_flag_the_nearest_budgets_toml_is_used_and_none_is_exit_2() {
    // From a subdirectory of the project, the project's budgets.toml; its
    // reports go next to it. (A bad edit keeps the run to the config step.)
    let d = scratch("findbudgets", |t| t.replace("batch = 512", "batch = = 512"));
    let sub = d.join("deep/er");
    std::fs::create_dir_all(&sub).unwrap();
    let out = common::xtask_cmd()
        .arg("size")
        .current_dir(&sub)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{}:", d.join("budgets.toml").display())),
        "{err}"
    );
    assert!(d.join("reports/summary.json").is_file(), "{err}");
    // Nowhere above: exit 2, saying what to do.
    let empty = common::TempDir::new("nobudgets");
    let out = common::xtask_cmd()
        .arg("size")
        .current_dir(&empty)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no budgets.toml in") && err.contains("pass --budgets FILE"),
        "{err}"
    );
}

#[test]
fn non_wasm_artifact_is_a_clear_error() {
    let d = common::TempDir::new("notwasm");
    let f = d.join("x.wasm");
    std::fs::write(&f, b"this is not wasm").unwrap();
    let out = xtask(&["attribute", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a WebAssembly module"));
    // Truncated wasm.
    std::fs::write(&f, b"\0asm\x01\0\0\0\x01\x05").unwrap();
    let out = xtask(&["attribute", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn build_failure_exits_2_naming_the_profile() {
    let d = scratch("buildfail", |t| t);
    let p = d.join("profiles/core-min.toml");
    std::fs::write(
        &p,
        std::fs::read_to_string(&p).unwrap().replace(
            "features = []",
            "features = []\nrustflags = [\"--cfg\", \"budget_test_break_build\"]",
        ),
    )
    .unwrap();
    let out = xtask(&[
        "size",
        "--profile",
        "core-min",
        "--budgets",
        d.join("budgets.toml").to_str().unwrap(),
        "--reports",
        d.join("reports").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("build of profile `core-min` failed"), "{err}");
}

/// The subject builds with its own toolchain. A pin that is not
/// installed stops the run (exit 2) with the command that installs it,
/// whether it comes from the subject's rust-toolchain.toml or from
/// `[subject] toolchain`.
#[test]
fn a_missing_subject_toolchain_exits_2_with_the_install_command() {
    // A subject in its own directory, pinning a toolchain this machine lacks.
    let d = scratch("pin", |t| t);
    let crate_dir = d.join("subject");
    std::fs::create_dir_all(crate_dir.join("src")).unwrap();
    std::fs::write(crate_dir.join("Cargo.toml"), "[package]\nname = \"runtime\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[lib]\ncrate-type = [\"cdylib\"]\n[features]\ntrace = []\ndev = []\n[workspace]\n").unwrap();
    std::fs::write(crate_dir.join("src/lib.rs"), "").unwrap();
    std::fs::write(
        crate_dir.join("rust-toolchain.toml"),
        "[toolchain]\nchannel = \"1.80.0\"\n",
    )
    .unwrap();
    let b = d.join("budgets.toml");
    let text = std::fs::read_to_string(&b).unwrap();
    let manifest_line = text
        .lines()
        .find(|l| l.starts_with("manifest = "))
        .unwrap()
        .to_string();
    std::fs::write(
        &b,
        text.replace(&manifest_line, "manifest = \"subject/Cargo.toml\""),
    )
    .unwrap();
    let out = xtask(&[
        "size",
        "--budgets",
        b.to_str().unwrap(),
        "--reports",
        d.join("reports").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`1.80.0-") && err.contains("rustup toolchain install 1.80.0-"),
        "{err}"
    );
    assert!(
        err.contains("subject/rust-toolchain.toml"),
        "the pin's file is named: {err}"
    );
    // `[subject] toolchain` overrides the resolution, and is checked too.
    let text = std::fs::read_to_string(&b).unwrap();
    std::fs::write(
        &b,
        text.replace(
            "package = \"runtime\"",
            "package = \"runtime\"\ntoolchain = \"1.79.0\"",
        ),
    )
    .unwrap();
    let out = xtask(&[
        "size",
        "--budgets",
        b.to_str().unwrap(),
        "--reports",
        d.join("reports").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`1.79.0` (budgets.toml [subject] toolchain) is not installed")
            && err.contains("rustup toolchain install 1.79.0 "),
        "{err}"
    );
}

/// The real size gate builds all three profiles and
/// passes; shrinking a cap below the measured size fails with exit 1 naming
/// metric and profile.
#[test]
fn size_gate_end_to_end_pass_then_fail_on_a_shrunk_cap() {
    let d = scratch("e2e", |t| t);
    let reports = d.join("reports");
    let b = d.join("budgets.toml");
    let out = xtask(&[
        "size",
        "--budgets",
        b.to_str().unwrap(),
        "--reports",
        reports.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("summary.json")).unwrap())
            .unwrap();
    // Two size metrics and the dependency record, for three profiles: the
    // runtime has no dependencies, so the contract's forbidden set passes.
    assert_eq!(s["records"].as_array().unwrap().len(), 9);
    let deps: Vec<&serde_json::Value> = s["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["metric_id"] == "M-DEPS-01")
        .collect();
    assert_eq!(deps.len(), 3);
    assert!(
        deps.iter()
            .all(|r| r["status"] == "pass" && r["value"] == 0.0),
        "{deps:?}"
    );
    let violations = common::schema::check_summary(&s);
    assert!(
        violations.is_empty(),
        "summary.json violates its schema: {violations:#?}"
    );
    let arts = s["artifacts"].as_array().unwrap();
    let raw = |p: &str| {
        arts.iter().find(|a| a["profile"] == p).unwrap()["sizes"]["raw_bytes"]
            .as_u64()
            .unwrap()
    };
    assert!(
        raw("core-min") < raw("core-trace") && raw("core-trace") < raw("full-dev"),
        "profile sizes must be ordered"
    );
    // Artifact paths are relative to the directory of budgets.toml.
    for a in arts {
        for k in ["input", "shipped", "named_twin"] {
            assert!(
                d.join(a[k].as_str().unwrap()).is_file(),
                "summary names {}",
                a[k]
            );
        }
    }
    // Shrink core-trace's raw cap below its measured size.
    std::fs::write(
        &b,
        std::fs::read_to_string(&b)
            .unwrap()
            .replace("core-trace = 900,", "core-trace = 1,"),
    )
    .unwrap();
    let out = xtask(&[
        "size",
        "--budgets",
        b.to_str().unwrap(),
        "--reports",
        reports.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("fail"))
        .expect("a fail row");
    assert!(
        line.contains("M-PERF-01A")
            && line.contains("core-trace")
            && line.contains("above the hard cap"),
        "{line}"
    );
}

/// A deliberately slowed runtime (feature `slow-init`
/// adds 70 ms of busy work to init) fails M-PERF-02A with exit 1, measured
/// in the real browser.
#[test]
fn slowed_init_fails_cold_init_in_the_browser() {
    // A quick run (a gating one would take 2000 cold inits of > 60 ms per seed).
    let d = scratch("slow", |t| t);
    let p = d.join("profiles/core-min.toml");
    std::fs::write(
        &p,
        std::fs::read_to_string(&p)
            .unwrap()
            .replace("features = []", "features = [\"slow-init\"]"),
    )
    .unwrap();
    let out = xtask(&[
        "budget",
        "--quick",
        "--profile",
        "core-min",
        "--env",
        "desktop",
        "--budgets",
        d.join("budgets.toml").to_str().unwrap(),
        "--reports",
        d.join("reports").to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    // --quick never exits 1; the figure still reads as a fail.
    assert_eq!(out.status.code(), Some(0), "{text}\n{err}");
    assert!(err.contains("would fail a gating run"), "{err}");
    let line = text
        .lines()
        .find(|l| l.contains("M-PERF-02A"))
        .expect("02A row");
    assert!(
        line.starts_with("fail") && line.contains("above the hard cap"),
        "{line}"
    );
}

/// Bless a baseline, grow the code (core-min built with the trace feature),
/// and the size gate fails on the baseline regression, naming the top
/// contributors from the attribution diff.
#[test]
fn size_regression_against_the_blessed_baseline_names_contributors() {
    // The trace feature adds a few percent: regress at more than 2 %.
    let d = scratch("baseline", |t| {
        t.replace(
            "baseline_regression_pct = 10.0",
            "baseline_regression_pct = 2.0",
        )
    });
    let b = d.join("budgets.toml");
    let reports = d.join("reports");
    let args = |extra: &[&str]| {
        let mut v = vec![
            "size",
            "--profile",
            "core-min",
            "--budgets",
            b.to_str().unwrap(),
            "--reports",
            reports.to_str().unwrap(),
        ];
        v.extend_from_slice(extra);
        v.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |a: Vec<String>| common::xtask_cmd().args(&a).output().unwrap();
    let out = run(args(&["--bless"]));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        reports.join("baseline.json").is_file()
            && reports.join("baseline/core-min.named.wasm").is_file()
    );

    let p = d.join("profiles/core-min.toml");
    std::fs::write(
        &p,
        std::fs::read_to_string(&p)
            .unwrap()
            .replace("features = []", "features = [\"trace\"]"),
    )
    .unwrap();
    let out = run(args(&[]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("fail") && l.contains("M-PERF-01A"))
        .expect("01A fails");
    // "base": the blessed baseline here, or the build of --against REF.
    assert!(
        line.contains("against the base") && line.contains("top contributors"),
        "{line}"
    );
    assert!(
        line.contains("KiB total") && line.contains("runtime +"),
        "{line}"
    );
    // The total is the real growth of the shipped file, positive.
    assert!(line.contains("top contributors vs base: +"), "{line}");
    let md = std::fs::read_to_string(reports.join("attribution/core-min.md")).unwrap();
    assert!(md.contains("## Diff against"), "attribution diff written");
}

/// A hung scenario is bounded by `scenario_timeout_s`, retried once, and
/// then stops the run with exit 2 naming the scenario; nothing reads as a pass.
#[test]
fn hung_scenario_is_bounded_retried_and_exits_2() {
    let (_dir, b) = common::scratch_with_scenario(
        "hang",
        "hang",
        "HANG",
        "export default async function (h) { await new Promise(() => {}); }\n",
    );
    let d = b.parent().unwrap().to_path_buf();
    let t = std::time::Instant::now();
    let out = xtask(&[
        "budget",
        "--quick",
        "--profile",
        "core-min",
        "--env",
        "desktop",
        "--budgets",
        b.to_str().unwrap(),
        "--reports",
        d.join("r").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("retrying once")
            && err.contains("scenario `hang`")
            && err.contains("failed twice"),
        "{err}"
    );
    assert!(t.elapsed().as_secs() < 120, "bounded time");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("r/summary.json")).unwrap()).unwrap();
    assert_eq!(s["outcome"], "error");
}

/// `--bless` does not bless a failing run unless `--force` says
/// so; the run still exits 1 for its failure.
#[test]
fn bless_refuses_a_failing_run_unless_forced() {
    let d = scratch("blessfail", |t| {
        common::only_metrics(&t, &["M-PERF-01A"])
            .replace("hard = { core-min = 650,", "hard = { core-min = 1,")
    });
    let b = d.join("budgets.toml");
    let reports = d.join("reports");
    let args = |extra: &[&str]| {
        let mut v = vec![
            "size",
            "--profile",
            "core-min",
            "--budgets",
            b.to_str().unwrap(),
            "--reports",
            reports.to_str().unwrap(),
            "--bless",
        ];
        v.extend_from_slice(extra);
        xtask(&v)
    };
    let out = args(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("not blessing")
            && err.contains("M-PERF-01A core-min")
            && err.contains("--force"),
        "{err}"
    );
    assert!(
        !reports.join("baseline.json").exists(),
        "a failing run is not blessed"
    );
    let out = args(&["--force"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        reports.join("baseline.json").is_file(),
        "--force blesses it"
    );
}

/// `--quick` never escalates, never writes the ledger and never
/// exits 1, and says so (fixed samples stand in for the browser).
#[test]
fn quick_never_gates() {
    let d = scratch("quickgate", |t| {
        common::only_metrics(&t, &["M-PERF-04C"])
            .replace("warn = { core-min = 40,", "warn = { core-min = 0.0001,")
    });
    let b = d.join("budgets.toml");
    let reports = d.join("reports");
    let run = |quick: bool| {
        let mut a = vec![
            "budget",
            "--fixed-samples",
            "-",
            "--profile",
            "core-min",
            "--env",
            "desktop",
            "--budgets",
            b.to_str().unwrap(),
            "--reports",
            reports.to_str().unwrap(),
        ];
        if quick {
            a.push("--quick");
        }
        let out = xtask(&a);
        let s: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(reports.join("summary.json")).unwrap())
                .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            s,
        )
    };
    let ledger_runs = || -> usize {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(reports.join("ledger.json")).unwrap())
                .unwrap();
        v["runs"].as_array().unwrap().len()
    };
    // A gating run in the warn band: warn, streak 1, one ledger run.
    let (code, err, _) = run(false);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(ledger_runs(), 1);
    // A quick run in the band again: a gating run would fail (second in a
    // row); quick does not escalate, writes nothing, exits 0, and says so.
    let (code, err, s) = run(true);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("--quick: not gating"), "{err}");
    assert_eq!(s["gating"], false);
    assert_eq!(
        s["records"][0]["verdict"]["warn_streak"], 1,
        "no escalation: {}",
        s["records"][0]
    );
    assert_eq!(ledger_runs(), 1, "a quick run writes no ledger entry");
    // Above the hard cap: a fail in the report, still exit 0.
    let t = std::fs::read_to_string(&b)
        .unwrap()
        .replace("hard = { core-min = 65,", "hard = { core-min = 0.0002,");
    std::fs::write(&b, t).unwrap();
    let (code, err, s) = run(true);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("would fail a gating run"), "{err}");
    assert_eq!(s["records"][0]["status"], "fail");
}

/// An error used to rewrite only summary.json, leaving the last
/// green summary.md and report.html (what CI posts) in place, and a panic
/// wrote nothing. Now an error, a panic and a failed merge each replace
/// every report with one that says what failed, and exit 2.
#[test]
fn errors_panics_and_failed_merges_leave_no_green_report() {
    let d = scratch("stale", |t| common::only_metrics(&t, &["M-PERF-01A"]));
    let b = d.join("budgets.toml");
    let reports = d.join("reports");
    let (bs, rs) = (b.to_str().unwrap(), reports.to_str().unwrap());
    let read = |f: &str| std::fs::read_to_string(reports.join(f)).unwrap();
    let green = || {
        let out = xtask(&[
            "size",
            "--profile",
            "core-min",
            "--budgets",
            bs,
            "--reports",
            rs,
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!read("summary.md").contains("could not do its job"));
        assert!(read("report.html").contains("M-PERF-01A"));
    };
    let all_say_error = |why: &str, needle: &str| {
        let s: serde_json::Value = serde_json::from_str(&read("summary.json")).unwrap();
        assert_eq!(s["outcome"], "error", "{why}");
        assert!(
            s["error"].as_str().unwrap().contains(needle),
            "{why}: {}",
            s["error"]
        );
        assert!(
            common::schema::check_summary(&s).is_empty(),
            "{why}: {:?}",
            common::schema::check_summary(&s)
        );
        for f in ["summary.md", "report.html"] {
            let text = read(f);
            assert!(
                text.contains("could not do its job") && text.contains(needle),
                "{why}: {f} is not an error report:\n{text}"
            );
            assert!(
                !text.contains("M-PERF-01A"),
                "{why}: {f} still shows an earlier figure"
            );
        }
    };

    green();
    std::fs::write(
        &b,
        std::fs::read_to_string(&b)
            .unwrap()
            .replace("batch = 512", "batch = = 512"),
    )
    .unwrap();
    let out = xtask(&[
        "size",
        "--profile",
        "core-min",
        "--budgets",
        bs,
        "--reports",
        rs,
    ]);
    assert_eq!(out.status.code(), Some(2));
    all_say_error("bad config", "budgets.toml");
    std::fs::write(
        &b,
        std::fs::read_to_string(&b)
            .unwrap()
            .replace("batch = = 512", "batch = 512"),
    )
    .unwrap();

    green();
    let missing = d.join("no-such-shard.json");
    let out = xtask(&[
        "merge",
        missing.to_str().unwrap(),
        "--budgets",
        bs,
        "--reports",
        rs,
    ]);
    assert_eq!(out.status.code(), Some(2));
    all_say_error("merge of a missing shard", "no-such-shard.json");
}
