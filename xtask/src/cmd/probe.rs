//! `cargo xtask init`'s measurements in a real browser, before any budget
//! exists: the probe of the candidate calls (does it run, does it change
//! the module's state, how long does it take), the check that the soak runs
//! as a whole, and the short runs of the wired built-ins that set the
//! timing caps. What to make of the findings is `exercise.rs`'s (pure).

use crate::builtin;
use crate::exercise::{Call, Candidates, Found, How};
use crate::measure::{Measurer, Quantity, ScenarioRun};
use anyhow::{anyhow, Context, Result};
use std::path::PathBuf;
use std::time::Duration;

/// Operations the soak runs when init checks it.
const SOAK_CHECK_OPS: u32 = 60;
/// Removals of a soak entry that threw before init gives up on the soak.
const SOAK_RETRIES: usize = 12;

/// One profile's shipped build, in the environment init measures in.
pub struct Target<'a> {
    pub profile: &'a str,
    pub environment: &'a str,
    pub wasm: PathBuf,
    pub glue: Option<PathBuf>,
    /// A raw module's imported functions and their providers.
    pub imports: &'a [(String, String)],
    pub timeout: Duration,
}

impl Target<'_> {
    fn run(&self, scenario: &str, params: serde_json::Value, iterations: u32) -> ScenarioRun {
        ScenarioRun {
            metric_id: format!("init-{scenario}"),
            profile: self.profile.to_string(),
            environment: self.environment.to_string(),
            scenario: format!("{}{scenario}", builtin::PREFIX),
            module: PathBuf::new(),
            params: Some(params),
            wasm_memory_only: false,
            wasm: self.wasm.clone(),
            glue: self.glue.clone(),
            seed: 1,
            iterations,
            warmup: 50,
            batch: 1,
            fixed_batch: None,
            throttle: 1.0,
            timeout: self.timeout,
            quantity: Quantity::TimeMs,
            realm: format!("init-{scenario}-{iterations}"),
            pair: None,
        }
    }

    fn imports_json(&self) -> serde_json::Value {
        self.imports
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str())))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    /// The probe's findings (`harness/builtin/probe.js`).
    fn probe(&self, m: &mut dyn Measurer, params: serde_json::Value) -> Result<serde_json::Value> {
        self.findings(m, "probe", params)
            .context("probing the crate's exports in the browser")
    }

    /// What a built-in's probe mode sends back as JSON in its method text.
    fn findings(
        &self,
        m: &mut dyn Measurer,
        scenario: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value> {
        let out = m.run(&self.run(scenario, params, 1))?;
        serde_json::from_str(&out.note)
            .with_context(|| format!("the probe returned no findings: {}", out.note))
    }
}

/// Each candidate call, tried on a fresh instance.
pub fn candidates(m: &mut dyn Measurer, t: &Target, c: &Candidates) -> Result<Vec<Found>> {
    let params = serde_json::json!({
        "setup": c.setup.as_ref().map(Call::json),
        "classes": c.classes.iter().map(|(k, v)| (k.clone(), v.json())).collect::<serde_json::Map<_, _>>(),
        "candidates": c.calls.iter().map(Call::json).collect::<Vec<_>>(),
        "imports": t.imports_json(),
    });
    let v = t.probe(m, params)?;
    let found: Vec<Found> = serde_json::from_value(v["candidates"].clone())?;
    if found.len() != c.calls.len() {
        return Err(anyhow!(
            "the probe answered for {} of {} candidates",
            found.len(),
            c.calls.len()
        ));
    }
    Ok(found)
}

/// Each test of a test module (`harness/builtin/tests.js`, probe mode)
/// alone: does it pass, and how long a pass of it takes; and the page
/// clock's step in ms.
pub fn tests(
    m: &mut dyn Measurer,
    t: &Target,
    target: &str,
) -> Result<(Vec<crate::suite::TestFound>, f64)> {
    let params = serde_json::json!({
        "kind": "tests",
        "probe": true,
        "heap": false,
        "tests": { "target": target, "only": [] },
    });
    let v = t
        .findings(m, "tests", params)
        .with_context(|| format!("running the tests of `{target}` one by one in the browser"))?;
    let found = serde_json::from_value(v["tests"].clone())?;
    Ok((found, v["tick"].as_f64().unwrap_or(0.005)))
}

/// Calls left out, each with why.
pub type Dropped = Vec<(Call, String)>;

/// The soak, run as a whole for a few dozen operations; an entry that
/// throws (a call that only fails after another one ran) is dropped, with
/// the methods of a class whose constructor threw, until the rest runs.
/// Returns the soak that ran and what was dropped, with why.
pub fn soak(
    m: &mut dyn Measurer,
    t: &Target,
    setup: Option<&Call>,
    mut soak: Vec<Call>,
) -> Result<(Vec<Call>, Dropped)> {
    let mut dropped = Vec::new();
    for _ in 0..SOAK_RETRIES {
        if !soak.iter().any(|c| c.how != How::New) {
            break;
        }
        let params = serde_json::json!({
            "setup": setup.map(Call::json),
            "candidates": [],
            "soak": soak.iter().map(Call::json).collect::<Vec<_>>(),
            "ops": SOAK_CHECK_OPS,
            "imports": t.imports_json(),
        });
        let v = t.probe(m, params)?;
        if v["soak"]["ok"] == true {
            return Ok((soak, dropped));
        }
        let why = v["soak"]["error"]
            .as_str()
            .unwrap_or("it threw")
            .to_string();
        let Some(at) = v["soak"]["at"].as_u64().map(|a| a as usize) else {
            return Err(anyhow!("the soak does not run: {why}"));
        };
        let bad = soak.remove(at);
        if bad.how == How::New {
            soak.retain(|c| c.on.as_deref() != Some(bad.name.as_str()));
        }
        dropped.push((bad, why));
    }
    soak.clear();
    Ok((soak, dropped))
}

/// The p95 of a short run of a built-in (`params` as budgets.toml's keys
/// validate into), in ms per operation, and the samples it took.
pub fn p95_ms(
    m: &mut dyn Measurer,
    t: &Target,
    kind: &str,
    params: serde_json::Value,
    iterations: u32,
) -> Result<(f64, usize)> {
    let mut out = m
        .run(&t.run(kind, params, iterations))
        .with_context(|| format!("a short run of builtin:{kind} on {}", t.profile))?;
    let n = out.samples.len();
    if n == 0 {
        return Err(anyhow!("builtin:{kind} recorded no samples"));
    }
    Ok((crate::stats::quantile_in_place(&mut out.samples, 0.95), n))
}

/// The harness parameters of a built-in whose calls are budgets.toml's
/// inline tables (`{ method = "push", args = [1] }`), through the same
/// validation `budget` applies to them.
pub fn params(
    kind: &str,
    unit: &str,
    calls: &[(&str, &str)],
    imports: &[(String, String)],
) -> Result<serde_json::Value> {
    #[derive(serde::Deserialize)]
    struct Keys {
        call: Option<toml::Spanned<builtin::CallSpec>>,
        setup: Option<toml::Spanned<builtin::CallSpec>>,
        teardown: Option<toml::Spanned<builtin::CallSpec>>,
        imports: Option<toml::Spanned<std::collections::BTreeMap<String, String>>>,
    }
    let mut text: String = calls.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
    if !imports.is_empty() {
        text += &format!(
            "imports = {{ {} }}\n",
            imports
                .iter()
                .map(|(k, v)| format!("{k:?} = {v:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let k: Keys = toml::from_str(&text).with_context(|| format!("init's own wiring:\n{text}"))?;
    let keys = builtin::Keys {
        tests: None,
        call: k.call.as_ref(),
        setup: k.setup.as_ref(),
        teardown: k.teardown.as_ref(),
        imports: k.imports.as_ref(),
        soak: None,
    };
    builtin::params(kind, unit, 0..0, &keys).map_err(|p| anyhow!("init's own wiring: {p:?}"))
}
