//! A wasm-bindgen crate passes the whole gate (sizes, attribution,
//! cold init through the glue, heap), and a wasm-bindgen CLI of another
//! version on PATH is detected and not used.
//!
//! The fixture is a team's crate in its own workspace, gated with
//! no edit to its files. It pins its toolchain (rust-toolchain.toml), has
//! its own rustflags (.cargo/config.toml), a release profile that strips
//! symbols, none of the gate's cargo profiles (their settings live in the
//! gate's profiles/*.toml), and a string-in/string-out export.

mod common;
use common::root;

#[test]
fn wasm_bindgen_fixture_passes_the_gate_and_a_mismatched_cli_is_not_used() {
    let fixture = root().join("tests/bindgen-fixture");
    let reports = common::TempDir::new("bindgen");
    // A wasm-bindgen of the wrong version first on PATH.
    let fake = reports.join("fakebin");
    std::fs::create_dir_all(&fake).unwrap();
    let script = fake.join("wasm-bindgen");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'wasm-bindgen 0.2.1 (fake)'\nexit 0\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        fake.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    // Sizes and attribution for every profile; the browser metrics, at the
    // full protocol, for core-min (the other profiles' cold init through
    // the same glue adds minutes of CI and no other code path).
    let size = common::xtask_cmd()
        .args(["size", "--budgets"])
        .arg(fixture.join("budgets.toml"))
        .arg("--reports")
        .arg(reports.join("size"))
        .env("PATH", &path)
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(
        size.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&size.stderr)
    );
    let out = common::xtask_cmd()
        .args(["budget", "--profile", "core-min", "--budgets"])
        .arg(fixture.join("budgets.toml"))
        .arg("--reports")
        .arg(&*reports)
        .env("PATH", path)
        .current_dir(root())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("is wasm-bindgen 0.2.1, but the subject pins"),
        "mismatch not reported:\n{stderr}"
    );
    // Every scenario runs on its first try: glue copies are unique per use.
    assert!(
        !stderr.contains("retrying"),
        "a clean run retries nothing:\n{stderr}"
    );
    // What the gate changed about the crate's build is said out loud.
    assert!(
        stderr.contains("subject toolchain 1.95.0-")
            && stderr.contains("bindgen-fixture/rust-toolchain.toml"),
        "{stderr}"
    );
    assert!(
        stderr.contains("rustflags: the subject's own `--cfg fixture_config_flag`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("sets strip = \"symbols\" (inherited by `wasm-min`)"),
        "{stderr}"
    );

    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("summary.json")).unwrap())
            .unwrap();
    assert!(
        common::schema::check_summary(&s).is_empty(),
        "{:?}",
        common::schema::check_summary(&s)
    );
    let sizes: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("size/summary.json")).unwrap())
            .unwrap();
    assert!(
        common::schema::check_summary(&sizes).is_empty(),
        "{:?}",
        common::schema::check_summary(&sizes)
    );
    let recs: Vec<serde_json::Value> = s["records"]
        .as_array()
        .unwrap()
        .iter()
        .chain(sizes["records"].as_array().unwrap())
        .cloned()
        .collect();
    for id in ["B-SIZE-RAW", "B-SIZE-GZ", "B-INIT", "B-HEAP"] {
        let profiles: &[&str] = if id.starts_with("B-SIZE") {
            &["core-min", "core-trace", "full-dev"]
        } else {
            &["core-min"]
        };
        for &p in profiles {
            let r = recs
                .iter()
                .find(|r| r["metric_id"] == id && r["profile"] == p)
                .unwrap_or_else(|| panic!("{id} {p}"));
            assert_eq!(r["status"], "pass", "{r}");
            assert!(r["value"].as_f64().unwrap() > 0.0);
            if id == "B-HEAP" {
                // The growth check ran and found a steady state.
                assert_eq!(r["heap_growth"]["seeds"], 5, "{r}");
                assert!(
                    r["heap_growth"]["growing_seeds"].as_u64().unwrap() <= 2,
                    "{r}"
                );
            }
        }
    }
    let arts = sizes["artifacts"].as_array().unwrap();
    assert_eq!(arts.len(), 3, "every profile built");
    for a in arts {
        assert!(a["shipped"].as_str().unwrap().ends_with("shipped.wasm"));
        let glue = a["js_glue"].as_array().expect("JS glue size reported");
        assert!(
            glue[0].as_u64().unwrap() > 1000
                && glue[1].as_u64().unwrap() < glue[0].as_u64().unwrap()
        );
        assert!(a["build_command"]
            .as_str()
            .unwrap()
            .contains("wasm-bindgen"));
        // Built by the crate's own pinned toolchain, recorded per profile.
        assert!(
            a["toolchain"]
                .as_str()
                .unwrap()
                .contains("bindgen-fixture/rust-toolchain.toml"),
            "{a}"
        );
        assert!(
            a["rustc"].as_str().unwrap().starts_with("rustc 1.95.0"),
            "{a}"
        );
        // The crate's own rustflags reached every build; core-min's profile
        // flags were added to them, not substituted.
        let shipped = std::fs::read(fixture.join(a["shipped"].as_str().unwrap())).unwrap();
        let exports = |name: &str| shipped.windows(name.len()).any(|w| w == name.as_bytes());
        assert!(
            exports("built_with_config_flags"),
            "{}: the crate's .cargo/config.toml flags were dropped",
            a["profile"]
        );
        assert_eq!(
            exports("built_with_both_flags"),
            a["profile"] == "core-min",
            "{}",
            a["profile"]
        );
        // Attribution names the crate's functions (through the named twin).
        let attr: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                reports
                    .join("size/attribution")
                    .join(format!("{}.json", a["profile"].as_str().unwrap())),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(attr["attributed_bytes"], attr["file_bytes"]);
        assert!(
            attr["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["name"].as_str().unwrap().contains("bump")),
            "{}",
            a["profile"]
        );
        // wasm-bindgen's shims (greet's string return goes
        // through one) are a named group, never a crate or `(no crate)`;
        // no binaryen-merged function poses as a crate.
        let items = attr["items"].as_array().unwrap();
        let shims: Vec<&serde_json::Value> = items
            .iter()
            .filter(|i| i["name"].as_str().unwrap().ends_with(" shim"))
            .collect();
        assert!(
            !shims.is_empty(),
            "{}: greet's multivalue shim",
            a["profile"]
        );
        assert!(
            shims.iter().all(|i| i["krate"] == "(wasm-bindgen shims)"),
            "{shims:?}"
        );
        assert!(
            attr["crates"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| !c["krate"].as_str().unwrap().contains('$')),
            "{}",
            attr["crates"]
        );
    }
}

/// A "steady-state heap" that keeps growing fails as growing,
/// whatever its p95. The fixture's `leak` feature appends to a history on
/// every call and never drains it; without it (the test above) the same
/// scenario passes the growth check.
#[test]
fn a_leaking_export_fails_the_heap_metric_as_growing() {
    let fixture = root().join("tests/bindgen-fixture");
    let d = common::TempDir::new("leak");
    std::fs::create_dir_all(d.join("profiles")).unwrap();
    let min = std::fs::read_to_string(fixture.join("profiles/core-min.toml")).unwrap();
    std::fs::write(
        d.join("profiles/leaky.toml"),
        min.replace("features = []", "features = [\"leak\"]"),
    )
    .unwrap();
    let budgets = std::fs::read_to_string(fixture.join("budgets.toml")).unwrap();
    let head = budgets.split("[[metric]]").next().unwrap();
    let text = head
        .replace("manifest = \"Cargo.toml\"", &format!("manifest = \"{}\"", fixture.join("Cargo.toml").display()))
        .replace("scenarios = \"scenarios\"", &format!("scenarios = \"{}\"", fixture.join("scenarios").display()))
        .replace("profiles = [\"core-min\", \"core-trace\", \"full-dev\"]", "profiles = [\"leaky\"]")
        + "[[metric]]\nid = \"B-HEAP\"\nname = \"steady-state heap, p95\"\nunit = \"MiB\"\nkind = \"hard\"\nsource = \"scenario:heap\"\nenvironment = \"desktop\"\nhard = { leaky = 48 }\n";
    std::fs::write(d.join("budgets.toml"), text).unwrap();
    let out = common::xtask_cmd()
        .args(["budget", "--budgets"])
        .arg(d.join("budgets.toml"))
        .arg("--reports")
        .arg(d.join("reports"))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("reports/summary.json")).unwrap())
            .unwrap();
    let r = s["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric_id"] == "B-HEAP")
        .unwrap();
    assert_eq!(r["status"], "fail", "{r}");
    assert!(
        r["value"].as_f64().unwrap() < 48.0,
        "under its cap, and still a fail: {r}"
    );
    let why = r["verdict"]["reasons"][0].as_str().unwrap();
    assert!(
        why.starts_with("heap still growing: +")
            && why.contains("KiB per 100 operations")
            && why.contains("wasm memory +"),
        "{why}"
    );
    let g = &r["heap_growth"];
    assert!(
        g["growing_seeds"].as_u64().unwrap() * 2 > g["seeds"].as_u64().unwrap(),
        "{g}"
    );
    assert!(
        stdout.contains("heap still growing"),
        "the terminal says it too:\n{stdout}"
    );
    // JS heap and wasm memory are reported apart, beside their sum.
    assert!(
        r["method"].as_str().unwrap().contains("js heap p95")
            && r["method"].as_str().unwrap().contains("wasm memory p95"),
        "{}",
        r["method"]
    );
}
