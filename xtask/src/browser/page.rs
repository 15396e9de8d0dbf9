//! The harness page, whatever browser shows it: the server that serves it
//! and each run's files, the one call that runs a round of scenario runs in
//! it, and the reading of what the page returns.

use crate::measure::{Quantity, ScenarioOutput, ScenarioRun};
use crate::server::{Body, Server};
use anyhow::{anyhow, bail, Context, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

const HTML: &str = include_str!("../../harness/index.html");
const JS: &str = include_str!("../../harness/harness.js");

/// The harness server, serving the harness page: on loopback, or on
/// `harness` (with a warning) for a browser on another host.
pub fn harness_server(harness: Option<std::net::IpAddr>) -> Result<Server> {
    let server = match harness {
        None => Server::start()?,
        Some(ip) => {
            let s = Server::start_on(ip)?;
            if !ip.is_loopback() {
                eprintln!(
                    "budget: warning: the harness server listens on {ip}:{port}: while this run lasts, anyone who can reach that \
                     address can fetch the subject's wasm, glue and scenarios. Use it only on a network you trust. \
                     A plain-http origin other than localhost is not a secure context, so the page is cross-origin \
                     isolated (5 us timers) only if the browser was started with \
                     --unsafely-treat-insecure-origin-as-secure=http://{ip}:{port}; otherwise timers are coarse and \
                     the clock floor marks small figures unresolved",
                    port = s.port
                );
            }
            s
        }
    };
    server.route("/index.html", Body::Static(HTML));
    server.route("/harness.js", Body::Static(JS));
    Ok(server)
}

/// Register a run's files with the server; the spec the page runs.
pub fn register(server: &Server, r: &ScenarioRun) -> serde_json::Value {
    let (wasm_url, glue_url) = register_build(server, &r.profile, &r.wasm, r.glue.as_ref());
    let pair = r.pair.as_ref().map(|p| {
        let (wasm, glue) = register_build(server, &r.profile, &p.wasm, p.glue.as_ref());
        serde_json::json!({ "wasm": wasm, "glue": glue })
    });
    let builtin = r.scenario.strip_prefix(crate::builtin::PREFIX);
    let scen_url = match builtin {
        // The gate's own modules, beside the helper they share.
        Some(kind) => {
            for (name, js) in crate::builtin::MODULES {
                server.route(&format!("/builtin/{name}.js"), Body::Static(js));
            }
            format!("/builtin/{kind}.js")
        }
        None => {
            let url = format!("/scenarios/{}.js", r.scenario);
            server.route(&url, Body::File(r.module.clone()));
            url
        }
    };
    // Scenario helpers (shared imports) next to the scenarios.
    if let Some(dir) = r.module.parent().filter(|_| builtin.is_none()) {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if name.ends_with(".js") || name.ends_with(".mjs") {
                    server.route(&format!("/scenarios/{name}"), Body::File(e.path()));
                }
            }
        }
    }
    serde_json::json!({
        "wasm": wasm_url, "glue": glue_url, "scenario": scen_url, "seed": r.seed,
        "iterations": r.iterations, "warmup": r.warmup, "batch": r.batch, "fixedBatch": r.fixed_batch,
        "realm": r.realm, "pair": pair, "params": r.params, "wasmMemoryOnly": r.wasm_memory_only,
    })
}

/// Serve one build's module (and glue); their URLs.
fn register_build(
    server: &Server,
    profile: &str,
    wasm: &Path,
    glue: Option<&PathBuf>,
) -> (String, Option<String>) {
    // One URL per file: base and candidate of a profile must never share
    // one, or the page's module map would hand one the other's glue.
    let tag = &crate::util::content_hash(&[wasm.display().to_string().as_bytes()])[..12];
    let wasm_url = format!("/wasm/{profile}-{tag}.wasm");
    server.route(&wasm_url, Body::File(wasm.to_path_buf()));
    let glue_url = glue.map(|g| {
        let url = format!("/wasm/{profile}-{tag}.js");
        server.route(&url, Body::File(g.clone()));
        url
    });
    (wasm_url, glue_url)
}

/// Run several scenario runs in the harness page through one evaluation
/// (`eval(expression, timeout)` resolves the page's string): one round trip
/// per round of blocks, not three per block. Each run succeeds or fails on
/// its own.
pub fn run_in_page(
    server: &Server,
    runs: &[ScenarioRun],
    eval: &mut dyn FnMut(&str, Duration) -> Result<String>,
) -> Result<Vec<Result<ScenarioOutput>>> {
    let Some(first) = runs.first() else {
        return Ok(vec![]);
    };
    let specs: Vec<serde_json::Value> = runs.iter().map(|r| register(server, r)).collect();
    let timeout = runs.iter().map(|r| r.timeout).sum::<Duration>();
    let t = std::time::Instant::now();
    let text = eval(
        &format!(
            "window.__budget.runMany({})",
            serde_json::Value::Array(specs)
        ),
        timeout,
    )?;
    let all: Vec<serde_json::Value> =
        serde_json::from_str(&text).context("scenario results are not JSON")?;
    if all.len() != runs.len() {
        bail!(
            "the page returned {} results for {} runs",
            all.len(),
            runs.len()
        );
    }
    if std::env::var_os("BUDGET_DEBUG_BLOCKS").is_some() {
        let page: f64 = all
            .iter()
            .map(|v| {
                v["ok"]["setupMs"].as_f64().unwrap_or(0.0)
                    + v["ok"]["scenarioMs"].as_f64().unwrap_or(0.0)
            })
            .sum();
        eprintln!(
            "round {} seed {}: {} runs, round trip {:.0} ms, in the page {page:.0} ms",
            first.scenario,
            first.seed,
            runs.len(),
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
    Ok(runs
        .iter()
        .zip(all)
        .map(|(r, v)| match v.get("err").and_then(|e| e.as_str()) {
            Some(err) => Err(anyhow!("in the page: {err}")),
            None => output_of(r, &v["ok"]).map(|mut o| {
                o.host_ms = v["host"].as_f64();
                o
            }),
        })
        .collect())
}

/// A scenario's result, checked against what the protocol asked for.
fn output_of(r: &ScenarioRun, v: &serde_json::Value) -> Result<ScenarioOutput> {
    let quantity = Quantity::parse(v["quantity"].as_str().unwrap_or(""))?;
    let mut out = side_of(r, v, quantity, "")?;
    out.pair = match (&r.pair, v.get("pair").filter(|p| !p.is_null())) {
        (Some(_), Some(p)) => Some(Box::new(side_of(
            r,
            p,
            quantity,
            " on the paired reference build",
        )?)),
        (Some(_), None) => bail!(
            "the run was paired with a reference build but the page returned no samples of it"
        ),
        (None, _) => None,
    };
    Ok(out)
}

/// One side of a scenario's result (a paired run has two).
fn side_of(
    r: &ScenarioRun,
    v: &serde_json::Value,
    quantity: Quantity,
    which: &str,
) -> Result<ScenarioOutput> {
    let samples: Vec<f64> = v["samples"]
        .as_array()
        .ok_or_else(|| anyhow!("scenario result has no samples{which}"))?
        .iter()
        .map(|x| {
            x.as_f64()
                .ok_or_else(|| anyhow!("non-numeric sample {x}{which}"))
        })
        .collect::<Result<_>>()?;
    if (samples.len() as u32) < r.iterations {
        bail!(
            "scenario recorded {} samples{which}, the protocol asks for {}",
            samples.len(),
            r.iterations
        );
    }
    Ok(ScenarioOutput {
        quantity,
        samples,
        ops_per_sample: v["opsPerSample"].as_u64().unwrap_or(1) as u32,
        window_ms: v["windowMs"].as_f64().unwrap_or(0.0),
        note: v["note"].as_str().unwrap_or("").to_string(),
        parts: v["parts"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, xs)| {
                        (
                            k.clone(),
                            xs.as_array()
                                .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
                                .unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        pair: None,
        host_ms: None,
    })
}

/// An expression resolving to a string, wrapped so a JS error comes back as
/// `ERR:<stack>` and a promise still pending after `timeout` rejects.
pub fn guarded(expr: &str, timeout: Duration) -> String {
    let ms = timeout.as_millis();
    format!(
        "(async () => {{ try {{ return await Promise.race([({expr}), new Promise((_, rej) => \
         setTimeout(() => rej(new Error('no result within {ms} ms (scenario_timeout_s)')), {ms}))]); }} \
         catch (e) {{ return 'ERR:' + (e && e.stack || e); }} }})()"
    )
}

/// The string a [`guarded`] expression resolved to, or its error.
pub fn page_result(value: Option<&str>) -> Result<String> {
    let s = value.ok_or_else(|| anyhow!("browser returned no value (page crashed?)"))?;
    if let Some(err) = s.strip_prefix("ERR:") {
        bail!("in the page: {err}");
    }
    Ok(s.to_string())
}
