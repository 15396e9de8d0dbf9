//! `cargo xtask advise` end to end on a small crate with a deliberate
//! monomorphization bloat (tests/mono-fixture): every variant is built
//! and measured for real, the bloat is found by name, each variant's cold
//! init is timed against the profile in one Chromium session (`--timing`),
//! and nothing in the crate is edited.

mod common;

#[test]
fn advise_measures_each_remedy_and_finds_the_monomorphization_bloat() {
    let fixture = common::root().join("tests/mono-fixture");
    let reports = common::TempDir::new("advise");
    let before = std::fs::read_to_string(fixture.join("src/lib.rs")).unwrap();
    let out = common::xtask_cmd()
        .arg("advise")
        .arg("--budgets")
        .arg(fixture.join("budgets.toml"))
        .arg("--reports")
        .arg(&*reports)
        .arg("--timing")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let md = std::fs::read_to_string(reports.join("advise/advice.md")).unwrap();
    // The bloat, by name, with its count.
    assert!(
        md.contains("generic mono_fixture::mix in 8 instantiations"),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("advise/advice.json")).unwrap())
            .unwrap();
    let p = &json[0];
    assert_eq!(p["profile"], "min");
    // Every cargo size setting is in place but opt-level "s": one build.
    assert_eq!(p["builds"], 1, "{p}");
    let tried = p["tried"].as_array().unwrap();
    let names: Vec<&str> = tried
        .iter()
        .map(|t| t["variant"]["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"opt-level = \"s\"")
            && names.contains(&"wasm-opt -O3")
            && !names.contains(&"lto = \"fat\""),
        "{names:?}"
    );
    let base_raw = p["base"]["raw"].as_u64().unwrap();
    for t in tried {
        if t["variant"]["not_tried"].is_null() {
            let raw = t["bytes"]["raw"].as_u64().unwrap_or_else(|| panic!("{t}"));
            assert!(raw > 0, "{t}");
        }
    }
    // --timing: every variant that built has a cold-init record, measured
    // live (an interval around its point, a verdict) unless its bytes are
    // the profile's own; the table has the column.
    let mut timed = 0;
    for t in tried.iter().filter(|t| !t["bytes"].is_null()) {
        let timing = t["timing"]
            .as_array()
            .unwrap_or_else(|| panic!("untimed: {t}"));
        assert_eq!(timing.len(), 1, "{t}");
        let m = &timing[0];
        assert_eq!(
            (&m["metric"], &m["environment"]),
            (&"INIT".into(), &"desktop".into())
        );
        if let Some(r) = m["ratio"].as_object() {
            let f = |k: &str| r[k].as_f64().unwrap();
            assert!(
                0.0 < f("lo") && f("lo") <= f("point") && f("point") <= f("hi"),
                "{m}"
            );
            assert!(m["blocks"].as_u64().unwrap() >= 8, "{m}");
            timed += 1;
        }
    }
    assert!(timed >= 2, "at least two variants differ in bytes: {p}");
    assert!(md.contains("| cold init (INIT, desktop) |"), "{md}");
    // -O3 optimizes for speed, not size: measured larger than -Oz here.
    let o3 = tried
        .iter()
        .find(|t| t["variant"]["name"] == "wasm-opt -O3")
        .unwrap();
    assert!(o3["bytes"]["raw"].as_u64().unwrap() >= base_raw, "{o3}");
    assert!(md.contains("not tried: needs a nightly toolchain"), "{md}");
    assert_eq!(
        std::fs::read_to_string(fixture.join("src/lib.rs")).unwrap(),
        before,
        "nothing in the crate is edited"
    );
}

#[test]
fn advise_env_without_timing_is_a_usage_error() {
    let fixture = common::root().join("tests/mono-fixture");
    let out = common::xtask_cmd()
        .args(["advise", "--env", "desktop", "--budgets"])
        .arg(fixture.join("budgets.toml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("add --timing"), "{err}");
}
