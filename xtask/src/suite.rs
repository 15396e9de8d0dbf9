//! The crate's own `#[wasm_bindgen_test]` functions as `builtin:tests`
//! metrics: which test targets a browser page can run, and, from what
//! init's probe found for each test (passes? how long alone?), which tests
//! one timed pass runs and which the heap soak runs. Pure but for
//! [`targets`], which reads the crate's files.

use serde::Deserialize;
use std::path::Path;

/// A timed pass is kept under this many milliseconds: a timing takes 2000
/// samples per seed and arm, so 2 ms a pass is 40 s of passes per
/// comparison (5 seeds, 2 arms).
pub const TIMED_PASS_MS: f64 = 2.0;
/// A soaked pass is kept under this many milliseconds: the heap takes 700
/// passes per seed (200 warm-up, 500 sampled).
pub const SOAK_PASS_MS: f64 = 5.0;
/// A timed pass this many clock steps long or shorter is near the clock
/// floor: its figure moves in whole steps.
pub const FLOOR_TICKS: f64 = 10.0;

/// A test target whose tests can run in a page, and why others cannot.
#[derive(Debug, Clone, PartialEq)]
pub enum Runs {
    /// In a page (`run_in_browser`, or no configuration: the runner's
    /// default is Node.js, but a test that needs no Node.js API runs in a
    /// page alike).
    Page,
    /// Configured for a worker or for Node.js only: not in a page.
    Elsewhere(&'static str),
}

/// Where a test target's `wasm_bindgen_test_configure!` sends its tests,
/// from the target's source text.
pub fn runs_in(source: &str) -> Runs {
    let Some(at) = source.find("wasm_bindgen_test_configure!") else {
        return Runs::Page;
    };
    let args = &source[at..source[at..].find(')').map_or(source.len(), |e| at + e)];
    for (mode, words) in [
        ("run_in_dedicated_worker", "a dedicated worker"),
        ("run_in_shared_worker", "a shared worker"),
        ("run_in_service_worker", "a service worker"),
        ("run_in_node_experimental", "Node.js"),
    ] {
        if args.contains(mode) {
            return Runs::Elsewhere(words);
        }
    }
    Runs::Page
}

/// The crate's test targets with `#[wasm_bindgen_test]` functions:
/// `tests/<name>.rs` (by its stem) first, then `lib` when the library's own
/// sources have some. Each with where its tests run.
pub fn targets(crate_dir: &Path) -> Vec<(String, Runs)> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(crate_dir.join("tests"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    // A target's tests may sit in its modules (`mod common;`).
    let modules = files.iter().any(|d| d.is_dir() && uses_tests(d));
    for f in files {
        let Some(stem) = f
            .extension()
            .filter(|e| *e == "rs")
            .and(f.file_stem())
            .and_then(|s| s.to_str())
        else {
            continue;
        };
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        if text.contains("wasm_bindgen_test") || (text.contains("mod ") && modules) {
            out.push((stem.to_string(), runs_in(&text)));
        }
    }
    if uses_tests(&crate_dir.join("src")) {
        out.push(("lib".to_string(), Runs::Page));
    }
    out
}

/// Whether any `.rs` file under `dir` has a `#[wasm_bindgen_test]`.
fn uses_tests(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let p = e.path();
        if p.is_dir() {
            uses_tests(&p)
        } else {
            p.extension().is_some_and(|x| x == "rs")
                && std::fs::read_to_string(&p).is_ok_and(|t| t.contains("#[wasm_bindgen_test"))
        }
    })
}

/// What the probe found for one test (`harness/builtin/tests.js`, probe).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TestFound {
    pub name: String,
    #[serde(default)]
    pub ignored: bool,
    pub passes: bool,
    /// The median of five passes of the test alone, in ms.
    #[serde(default)]
    pub ms: f64,
    #[serde(default)]
    pub error: Option<String>,
}

/// Which tests the two metrics run, and what was left out, with why.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Choice {
    /// One timed pass, heaviest first, under [`TIMED_PASS_MS`] together.
    pub timed: Vec<String>,
    /// The soak's pass, lightest first, under [`SOAK_PASS_MS`] together.
    pub soaked: Vec<String>,
    /// Tests in neither, each with why.
    pub left_out: Vec<(String, String)>,
    /// The timed pass's probed time, in ms.
    pub timed_ms: f64,
    /// Said when the timed pass is near the clock floor.
    pub warning: Option<String>,
}

/// Choose from the probe's findings (`tick_ms`: the page clock's step).
/// A test that fails or is ignored runs in neither metric; the timed pass
/// takes the heaviest tests that fit together under [`TIMED_PASS_MS`] (a
/// heavier test alone is left out of it), the soak the lightest that fit
/// under [`SOAK_PASS_MS`].
pub fn choose(found: &[TestFound], tick_ms: f64) -> Choice {
    let mut c = Choice::default();
    let mut passing: Vec<&TestFound> = Vec::new();
    for f in found {
        if f.ignored {
            c.left_out.push((f.name.clone(), "#[ignore]d".into()));
        } else if !f.passes {
            let why = f.error.as_deref().unwrap_or("it failed");
            c.left_out
                .push((f.name.clone(), format!("fails in the browser: {why}")));
        } else {
            passing.push(f);
        }
    }
    let by_ms = |a: &&TestFound, b: &&TestFound| a.ms.total_cmp(&b.ms).then(a.name.cmp(&b.name));
    let mut heavy = passing.clone();
    heavy.sort_by(|a, b| by_ms(b, a));
    for f in &heavy {
        if c.timed_ms + f.ms <= TIMED_PASS_MS {
            c.timed.push(f.name.clone());
            c.timed_ms += f.ms;
        }
    }
    let mut light = passing.clone();
    light.sort_by(by_ms);
    let mut soak_ms = 0.0;
    for f in &light {
        if soak_ms + f.ms <= SOAK_PASS_MS {
            c.soaked.push(f.name.clone());
            soak_ms += f.ms;
        }
    }
    for f in &passing {
        let (timed, soaked) = (c.timed.contains(&f.name), c.soaked.contains(&f.name));
        if !timed && !soaked {
            c.left_out.push((
                f.name.clone(),
                format!(
                    "{:.2} ms alone: more than a pass may take ({TIMED_PASS_MS} ms timed, {SOAK_PASS_MS} ms soaked)",
                    f.ms
                ),
            ));
        }
    }
    if !c.timed.is_empty() && c.timed_ms <= FLOOR_TICKS * tick_ms {
        c.warning = Some(format!(
            "a pass over the timed tests takes {:.3} ms, within {FLOOR_TICKS} steps of the page clock ({} ms): this figure guards little",
            c.timed_ms, tick_ms
        ));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, ms: f64) -> TestFound {
        TestFound {
            name: name.into(),
            ignored: false,
            passes: true,
            ms,
            error: None,
        }
    }

    #[test]
    fn the_timed_pass_takes_the_heaviest_that_fit_and_the_soak_the_lightest() {
        let found = vec![
            t("a", 0.9),
            t("b", 1.5),
            t("c", 0.4),
            t("d", 0.05),
            t("e", 30.0),
            TestFound {
                passes: false,
                error: Some("boom".into()),
                ..t("f", 0.0)
            },
            TestFound {
                ignored: true,
                passes: false,
                ..t("g", 0.0)
            },
        ];
        let c = choose(&found, 0.005);
        // Heaviest first: b (1.5), then c (0.4) and d fit, a does not.
        assert_eq!(c.timed, ["b", "c", "d"]);
        assert!((c.timed_ms - 1.95).abs() < 1e-9);
        // Lightest first under 5 ms: d, c, a, b (2.85 ms); e alone is 30.
        assert_eq!(c.soaked, ["d", "c", "a", "b"]);
        let why = |n: &str| {
            c.left_out
                .iter()
                .find(|(m, _)| m == n)
                .map(|(_, w)| w.clone())
        };
        assert_eq!(why("f").as_deref(), Some("fails in the browser: boom"));
        assert_eq!(why("g").as_deref(), Some("#[ignore]d"));
        assert!(why("e").unwrap().starts_with("30.00 ms alone"));
        assert_eq!(why("a"), None, "a is soaked");
        assert_eq!(c.warning, None);
    }

    #[test]
    fn a_pass_near_the_clock_floor_says_it_guards_little() {
        let c = choose(&[t("tiny", 0.02)], 0.005);
        assert_eq!(c.timed, ["tiny"]);
        assert!(c.warning.unwrap().contains("guards little"));
        let c = choose(&[t("fine", 0.2)], 0.005);
        assert_eq!(c.warning, None);
        // Nothing passes: nothing to time, nothing said about the clock.
        let c = choose(&[], 0.005);
        assert!(c.timed.is_empty() && c.warning.is_none());
    }

    #[test]
    fn a_target_runs_in_a_page_unless_configured_elsewhere() {
        assert_eq!(
            runs_in("use x;\n#[wasm_bindgen_test]\nfn a() {}"),
            Runs::Page
        );
        assert_eq!(
            runs_in("wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);"),
            Runs::Page
        );
        assert_eq!(
            runs_in("wasm_bindgen_test_configure!(run_in_dedicated_worker);"),
            Runs::Elsewhere("a dedicated worker")
        );
        assert_eq!(
            runs_in("wasm_bindgen_test_configure!(run_in_node_experimental);"),
            Runs::Elsewhere("Node.js")
        );
    }
}
