//! Issue 7: a wasm-bindgen crate passes the whole gate (sizes, attribution,
//! cold init through the glue, heap), and a wasm-bindgen CLI of another
//! version on PATH is detected and not used.

mod common;
use common::root;

#[test]
fn wasm_bindgen_fixture_passes_the_gate_and_a_mismatched_cli_is_not_used() {
    let fixture = root().join("tests/bindgen-fixture");
    let reports = std::env::temp_dir().join(format!("xtask-bindgen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&reports);
    // A wasm-bindgen of the wrong version first on PATH.
    let fake = reports.join("fakebin");
    std::fs::create_dir_all(&fake).unwrap();
    let script = fake.join("wasm-bindgen");
    std::fs::write(&script, "#!/bin/sh\necho 'wasm-bindgen 0.2.1 (fake)'\nexit 0\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", fake.display(), std::env::var("PATH").unwrap_or_default());

    let out = common::xtask_cmd()
        .args(["budget", "--budgets"])
        .arg(fixture.join("budgets.toml"))
        .arg("--reports")
        .arg(&reports)
        .env("PATH", path)
        .current_dir(root())
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("is wasm-bindgen 0.2.1, but the subject pins"), "mismatch not reported:\n{stderr}");

    let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(reports.join("summary.json")).unwrap()).unwrap();
    assert!(common::schema::check_summary(&s).is_empty(), "{:?}", common::schema::check_summary(&s));
    let recs = s["records"].as_array().unwrap();
    for id in ["B-SIZE-RAW", "B-SIZE-GZ", "B-INIT", "B-HEAP"] {
        for p in ["core-min", "core-trace", "full-dev"] {
            let r = recs.iter().find(|r| r["metric_id"] == id && r["profile"] == p).unwrap_or_else(|| panic!("{id} {p}"));
            assert_eq!(r["status"], "pass", "{r}");
            assert!(r["value"].as_f64().unwrap() > 0.0);
        }
    }
    for a in s["artifacts"].as_array().unwrap() {
        assert!(a["shipped"].as_str().unwrap().ends_with("shipped.wasm"));
        let glue = a["js_glue"].as_array().expect("JS glue size reported");
        assert!(glue[0].as_u64().unwrap() > 1000 && glue[1].as_u64().unwrap() < glue[0].as_u64().unwrap());
        assert!(a["build_command"].as_str().unwrap().contains("wasm-bindgen"));
        // Attribution names the crate's functions (through the named twin).
        let attr: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(reports.join("attribution").join(format!("{}.json", a["profile"].as_str().unwrap()))).unwrap(),
        )
        .unwrap();
        assert_eq!(attr["attributed_bytes"], attr["file_bytes"]);
        assert!(attr["items"].as_array().unwrap().iter().any(|i| i["name"].as_str().unwrap().contains("bump")), "{}", a["profile"]);
    }
}
