//! The timing half in the real browser: what each metric measures and live
//! base/candidate verdicts. Runs are `--quick` and
//! restricted to one profile and the metrics under test, so each takes
//! seconds to a minute; the full protocol's figures are benchmarks
//! (README), not assertions here.

mod common;
use common::{only_metrics, root, scratch};
use std::path::Path;

/// The tests here time things in the browser: one at a time, so they do not
/// load the machine under each other (cargo runs a binary's tests in
/// parallel).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Run the gate; (exit code, summary JSON, stdout + stderr).
fn budget(
    dir: &Path,
    reports: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (i32, serde_json::Value, String) {
    let reports = dir.join(reports);
    let mut cmd = common::xtask_cmd();
    cmd.args(["budget", "--quick", "--profile", "core-min", "--budgets"])
        .arg(dir.join("budgets.toml"))
        .arg("--reports")
        .arg(&reports)
        .args(extra)
        .current_dir(root());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let s = std::fs::read_to_string(reports.join("summary.json"))
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), s, text)
}

fn value(s: &serde_json::Value, id: &str) -> f64 {
    common::record(s, id)["value"]
        .as_f64()
        .unwrap_or_else(|| panic!("{id} has no value: {}", common::record(s, id)))
}

fn set_features(dir: &Path, features: &str) {
    let p = dir.join("profiles/core-min.toml");
    let text = std::fs::read_to_string(&p).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("features = "))
        .unwrap()
        .to_string();
    std::fs::write(&p, text.replace(&line, &format!("features = {features}"))).unwrap();
}

/// An injected cold-init slowdown is caught as
/// "regressed" against the blessed baseline, with its ratio and interval,
/// and unchanged code passes against the same baseline.
#[test]
fn injected_init_slowdown_is_regressed_and_unchanged_code_passes() {
    let _one_at_a_time = serial();
    let d = scratch("ab", |t| only_metrics(&t, &["M-PERF-02A"]));
    let env = [("BUDGET_INJECT_INIT_STEPS", "400000")];
    let desktop = ["--env", "desktop"];
    // Bless with a gating run of the one metric (--quick never blesses).
    let mut cmd = common::xtask_cmd();
    let out = cmd
        .args([
            "budget",
            "--profile",
            "core-min",
            "--env",
            "desktop",
            "--bless",
            "--budgets",
        ])
        .arg(d.join("budgets.toml"))
        .arg("--reports")
        .arg(d.join("reports"))
        .envs(env)
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    set_features(&d, "[\"inject-init-busy\"]");
    let (code, s, text) = budget(&d, "reports", &desktop, &env);
    // A --quick run never exits 1; its figure still fails.
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("would fail a gating run"), "{text}");
    let r = common::record(&s, "M-PERF-02A");
    assert_eq!(r["status"], "fail", "{r}");
    let c = &r["comparison"];
    assert_eq!(c["verdict"], "regressed", "{r}");
    assert!(
        c["estimate"]["lo"].as_f64().unwrap() > 1.0
            && c["estimate"]["point"].as_f64().unwrap() > 1.1,
        "{c}"
    );
    let why = r["verdict"]["reasons"].to_string();
    assert!(
        why.contains("regressed against the blessed baseline") && why.contains("95 % CI"),
        "{why}"
    );

    set_features(&d, "[]");
    let (code, s, text) = budget(&d, "reports", &desktop, &env);
    assert_eq!(code, 0, "{text}");
    let c = &common::record(&s, "M-PERF-02A")["comparison"];
    assert_ne!(c["verdict"], "regressed", "{c}");
    assert!(
        !text.contains("retrying"),
        "a clean run retries nothing: {text}"
    );
}

/// The cancellation response is well above the clock, grows with
/// the work left between the request and the next checkpoint, and does not
/// grow with the work done before the request.
#[test]
fn cancel_response_tracks_work_after_the_request_not_before() {
    let _one_at_a_time = serial();
    let run = |name: &str, rest: u32, pre: u32| -> serde_json::Value {
        let d = scratch(&format!("cancel-{name}"), |t| {
            only_metrics(&t, &["M-PERF-03B"])
        });
        edited_scenarios(
            &d,
            &[
                ("common.js", &|js| js),
                ("cancel.js", &|js| {
                    js.replace(
                        "const REST_MAX = 20000;",
                        &format!("const REST_MAX = {rest};"),
                    )
                    .replace("const PRE_MAX = 20000;", &format!("const PRE_MAX = {pre};"))
                }),
            ],
        );
        let (code, s, out) = budget(&d, "reports", &["--env", "desktop"], &[]);
        assert_eq!(code, 0, "{out}");
        s
    };
    let base = run("base", 20000, 20000);
    let r = common::record(&base, "M-PERF-03B");
    let ticks = r["clock"]["ticks"].as_f64().unwrap();
    assert!(
        ticks >= 10.0 && r["verdict"]["unresolved"] == false,
        "resolved above the clock floor: {r}"
    );
    assert!(
        value(&base, "M-PERF-03B") > 0.005,
        "above one 5 us tick per response: {r}"
    );
    let more_after = run("rest", 80000, 20000);
    let more_before = run("pre", 20000, 80000);
    let (b, a, p) = (
        value(&base, "M-PERF-03B"),
        value(&more_after, "M-PERF-03B"),
        value(&more_before, "M-PERF-03B"),
    );
    eprintln!(
        "03B p95: base {b:.4} ms, 4x work after the request {a:.4} ms, 4x work before it {p:.4} ms"
    );
    assert!(a > 2.0 * b, "4x the work after the request: {a} vs {b}");
    assert!(
        (0.75..1.33).contains(&(p / b)),
        "4x the work before the request stays put: {p} vs {b}"
    );
}

/// Every block runs code of its own compile. V8 shares the
/// compiled, tiered-up code of identical bytes, so without the nonce every
/// block of a build, and both arms of an A/A comparison, ran one compile's
/// code. The copied `warmInstance` fails a block whose module carries no
/// nonce, or the nonce of an earlier block of the seed (the blocks of a
/// seed share one realm).
#[test]
fn every_block_compiles_its_own_module() {
    let _one_at_a_time = serial();
    let d = scratch("own-compile", |t| only_metrics(&t, &["M-PERF-03B"]));
    let check = "const { instance, module } = await h.instantiate(imports());\n  \
        const [nonce] = WebAssembly.Module.customSections(module, \"budget-nonce\");\n  \
        if (!nonce) throw new Error(\"the block's module was compiled from the plain bytes\");\n  \
        const key = new Uint8Array(nonce).join(\",\");\n  \
        const seen = (globalThis.__blockCompiles ??= new Set());\n  \
        if (seen.has(key)) throw new Error(\"two blocks ran one compile\");\n  \
        seen.add(key);";
    edited_scenarios(
        &d,
        &[
            ("common.js", &|js| {
                let old = "const { instance } = await h.instantiate(imports());";
                assert!(js.contains(old), "warmInstance changed: update this test");
                js.replace(old, check)
            }),
            ("cancel.js", &|js| js),
        ],
    );
    let (code, s, text) = budget(&d, "reports", &["--env", "desktop"], &[]);
    assert_eq!(code, 0, "{text}");
    let r = common::record(&s, "M-PERF-03B");
    assert!(r["value"].as_f64().is_some_and(|v| v > 0.0), "{r}");
    // Several blocks per seed ran in one realm, each checked against the rest.
    assert!(
        r["method"].as_str().unwrap().contains(" in 8 blocks of "),
        "{r}"
    );
}

/// A copy of the runtime's scenarios `files`, each passed through its edit,
/// in `d/scenarios`, which `d/budgets.toml` then points at.
fn edited_scenarios(d: &Path, files: &[(&str, &dyn Fn(String) -> String)]) {
    let scen = d.join("scenarios");
    std::fs::create_dir_all(&scen).unwrap();
    for (name, edit) in files {
        let js = std::fs::read_to_string(root().join("runtime/scenarios").join(name)).unwrap();
        std::fs::write(scen.join(name), edit(js)).unwrap();
    }
    let b = d.join("budgets.toml");
    std::fs::write(
        &b,
        common::with_scenarios_dir(&std::fs::read_to_string(&b).unwrap(), &scen),
    )
    .unwrap();
}

/// With every function compiled (the eager figure), cold init
/// grows with code that init never calls.
#[test]
fn eager_cold_init_grows_with_code_size() {
    let _one_at_a_time = serial();
    let d = scratch("eager", |t| only_metrics(&t, &["M-PERF-02C", "M-PERF-01A"]));
    let (code, plain, text) = budget(&d, "plain", &["--env", "desktop-eager"], &[]);
    assert_eq!(code, 0, "{text}");
    set_features(&d, "[\"test-bloat\"]");
    let (code, bloat, text) = budget(&d, "bloat", &["--env", "desktop-eager"], &[]);
    assert_eq!(code, 0, "{text}");
    let (sp, sb) = (value(&plain, "M-PERF-01A"), value(&bloat, "M-PERF-01A"));
    let (tp, tb) = (value(&plain, "M-PERF-02C"), value(&bloat, "M-PERF-02C"));
    eprintln!("eager cold init: {sp:.1} KiB -> {tp:.3} ms; {sb:.1} KiB -> {tb:.3} ms");
    assert!(
        sb > 2.0 * sp,
        "the bloat feature adds code: {sp} -> {sb} KiB"
    );
    assert!(
        tb > 1.3 * tp,
        "eager cold init grows with the code: {tp} -> {tb} ms"
    );
    assert!(
        plain["fingerprint"]["environments"]["desktop-eager"]["js_flags"]
            .to_string()
            .contains("no-wasm-lazy-compilation"),
        "{}",
        plain["fingerprint"]
    );
}

/// The mobile throttle is calibrated to the target slowdown, and
/// the rate and the achieved factor are in the fingerprint.
#[test]
fn mobile_throttle_is_calibrated_and_reported() {
    let _one_at_a_time = serial();
    let d = scratch("mobile", |t| only_metrics(&t, &["M-PERF-02B"]));
    let (code, s, text) = budget(&d, "reports", &["--env", "mobile"], &[]);
    assert_eq!(code, 0, "{text}");
    let achieved = s["fingerprint"]["environments"]["mobile"]["throttle_achieved"]
        .as_f64()
        .unwrap_or_else(|| panic!("{}", s["fingerprint"]));
    let rate = s["fingerprint"]["environments"]["mobile"]["throttle_rate"]
        .as_f64()
        .unwrap();
    eprintln!("mobile: CDP rate {rate:.2} achieved {achieved:.2}x");
    assert!(
        (achieved / 4.0 - 1.0).abs() <= 0.15,
        "achieved {achieved} for a 4x target"
    );
    assert!(std::fs::read_to_string(d.join("reports/summary.md"))
        .unwrap()
        .contains("slowed the reference workload"));
}
