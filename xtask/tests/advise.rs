//! `cargo xtask advise` end to end on a small crate with a deliberate
//! monomorphization bloat (tests/mono-fixture): every variant is built
//! and measured for real, the bloat is found by name, and nothing in the
//! crate is edited.

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
