//! The real [`Measurer`]: headless Chromium driven over CDP (headless_chrome),
//! plus browser provisioning.
//!
//! We start Chromium ourselves rather than through headless_chrome's
//! launcher, for two reasons: the child gets `PR_SET_PDEATHSIG`, so it dies
//! with the gate even on SIGKILL or Ctrl-C (no stray chromium), and the same
//! `Browser::connect` path serves both a launched browser and `--browser-ws`
//! (a browser farm or device lab).

use crate::config::Environment;
use crate::measure::{EnvInfo, Measurer, Quantity, ScenarioOutput, ScenarioRun};
use crate::server::{Body, Server};
use crate::summary::Fingerprint;
use anyhow::{anyhow, bail, Context, Result};
use headless_chrome::protocol::cdp::Emulation;
use headless_chrome::{Browser, Tab};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

const HTML: &str = include_str!("../harness/index.html");
const JS: &str = include_str!("../harness/harness.js");

/// Flags for a quiet, isolated headless Chromium on a closed network.
pub const FLAGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    "--mute-audio",
    // performance.memory without 100 KiB bucketing/noise.
    "--enable-precise-memory-info",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
];

/// Find a browser: `$CHROME`, then the usual names on PATH; install Debian's
/// chromium when we are root with apt-get; otherwise say how to get one.
pub fn find_or_install() -> Result<PathBuf> {
    if let Some(c) = std::env::var_os("CHROME") {
        let p = PathBuf::from(c);
        if p.is_file() {
            return Ok(p);
        }
        bail!("$CHROME is set to {}, which does not exist", p.display());
    }
    if let Some(p) = which_browser() {
        return Ok(p);
    }
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0")).unwrap_or(false);
    let apt = Path::new("/usr/bin/apt-get").is_file();
    if root && apt {
        eprintln!("budget: no Chromium found; installing Debian's chromium (apt-get update && apt-get install -y chromium)");
        let ok = Command::new("sh")
            .args(["-c", "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            if let Some(p) = which_browser() {
                return Ok(p);
            }
        }
        bail!("installing chromium with apt-get failed; run `apt-get update && apt-get install -y chromium` and retry");
    }
    bail!(
        "no Chromium or Chrome found. Install one and retry:\n  Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y chromium\n  \
         or point $CHROME at a Chrome/Chromium binary, or pass --browser-ws ws://HOST:PORT/devtools/browser/ID"
    )
}

fn which_browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// A Chromium child process, killed (and its profile dir removed) on drop.
pub struct Launched {
    child: Child,
    profile_dir: PathBuf,
    pub ws_url: String,
}

impl Drop for Launched {
    fn drop(&mut self) {
        kill_group(&mut self.child);
        let _ = std::fs::remove_dir_all(&self.profile_dir);
    }
}

/// Start Chromium with a fresh profile directory and wait (bounded) for its
/// DevTools endpoint.
/// V8 flags of every launch: gc() for the heap probe (heap samples are
/// taken after a full collection, so they measure what the page holds, not
/// when V8 last happened to collect) and the cold-init samples' GC.
pub const JS_FLAGS: &[&str] = &["--expose-gc"];

pub fn launch(exe: &Path, extra_js_flags: &[String]) -> Result<Launched> {
    let profile_dir = std::env::temp_dir().join(format!(
        "budget-chromium-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
    ));
    std::fs::create_dir_all(&profile_dir)?;
    let mut cmd = Command::new(exe);
    let js: Vec<&str> = JS_FLAGS.iter().copied().chain(extra_js_flags.iter().map(String::as_str)).collect();
    cmd.args(FLAGS)
        .arg(format!("--js-flags={}", js.join(" ")))
        .arg(format!("--user-data-dir={}", profile_dir.display()))
        .arg("about:blank");
    let (child, url) = spawn_announcing(cmd, "Chromium", "DevTools listening on ", "its DevTools endpoint")?;
    Ok(Launched { child, profile_dir, ws_url: url })
}

/// Start a browser that announces its endpoint on stderr: the child dies
/// with the gate (`PR_SET_PDEATHSIG`, so a crashed or interrupted gate
/// never leaves one behind) and leads its own process group (so its helper
/// processes can be killed with it); wait at most 30 s for the line holding
/// `marker`, and return what follows it. The child's stderr keeps being
/// drained, so it never blocks on a full pipe.
pub fn spawn_announcing(mut cmd: Command, name: &str, marker: &'static str, what: &str) -> Result<(Child, String)> {
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl and setpgid are async-signal-safe; they only ask the
        // kernel to SIGKILL the child when this process dies and to give it
        // a process group of its own.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                libc::setpgid(0, 0);
                Ok(())
            });
        }
    }
    let program = cmd.get_program().to_string_lossy().to_string();
    let mut child = cmd.spawn().with_context(|| format!("starting {program}"))?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            // After the endpoint line nobody listens: keep draining.
            let _ = tx.send(line);
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    let fail = |child: &mut Child, msg: String| {
        kill_group(child);
        Err(anyhow!(msg))
    };
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return fail(&mut child, format!("{name} did not open {what} within 30 s; its output:\n{}", seen.join("\n")));
        }
        match rx.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(line) => {
                if let Some(rest) = line.split(marker).nth(1) {
                    return Ok((child, rest.trim().to_string()));
                }
                seen.push(line);
            }
            Err(_) => {
                if let Ok(Some(st)) = child.try_wait() {
                    return fail(&mut child, format!("{name} exited at start ({st}); its output:\n{}", seen.join("\n")));
                }
            }
        }
    }
}

/// Kill a browser started by [`spawn_announcing`] and its process group
/// (renderer and content processes), then reap it.
pub fn kill_group(child: &mut Child) {
    #[cfg(target_os = "linux")]
    // SAFETY: kill(2) on the child's own process group (it called setpgid).
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

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

/// Headless Chromium as a measurer.
pub struct BrowserMeasurer {
    server: Server,
    // Declared before `launched` so the CDP connection closes first.
    browser: Option<Browser>,
    tab: Option<Arc<Tab>>,
    launched: Option<Launched>,
    exe: Option<PathBuf>,
    remote: Option<String>,
    version: String,
    timer_resolution_ms: Option<f64>,
    isolated: Option<bool>,
    scenario_timeout: Duration,
    /// V8 flags of the running browser beyond [`JS_FLAGS`].
    js_flags: Vec<String>,
    /// CDP throttling rate per environment, once calibrated.
    rates: std::collections::BTreeMap<String, EnvInfo>,
    /// The throttling rate the page runs under now.
    current_rate: f64,
}

impl BrowserMeasurer {
    /// `harness`: the address the harness server listens on (loopback when
    /// None). A browser on another host needs one it can reach.
    pub fn start(scenario_timeout: Duration, remote: Option<&str>, harness: Option<std::net::IpAddr>) -> Result<BrowserMeasurer> {
        let server = harness_server(harness)?;
        let exe = if remote.is_none() { Some(find_or_install()?) } else { None };
        let mut m = BrowserMeasurer {
            server,
            browser: None,
            tab: None,
            launched: None,
            exe,
            remote: remote.map(String::from),
            version: String::new(),
            timer_resolution_ms: None,
            isolated: None,
            scenario_timeout,
            js_flags: Vec::new(),
            rates: Default::default(),
            current_rate: 1.0,
        };
        m.connect()?;
        Ok(m)
    }

    /// (Re)start the browser and open the harness page.
    fn connect(&mut self) -> Result<()> {
        self.current_rate = 1.0;
        self.close_tab();
        self.browser = None;
        self.launched = None;
        let ws = match (&self.remote, &self.exe) {
            (Some(url), _) => url.clone(),
            (None, Some(exe)) => {
                let l = launch(exe, &self.js_flags)?;
                let url = l.ws_url.clone();
                self.launched = Some(l);
                url
            }
            (None, None) => bail!("no browser"),
        };
        // The CDP transport gives up on a call after this long without a
        // message: it bounds a scenario that blocks the page's event loop
        // (the in-page timeout below cannot fire then).
        let browser = Browser::connect_with_timeout(ws.clone(), self.scenario_timeout + Duration::from_secs(30))
            .map_err(|e| anyhow!("connecting to the browser at {ws}: {e}"))?;
        let v = browser.get_version().map_err(|e| anyhow!("asking the browser its version: {e}"))?;
        self.version = v.product;
        let tab = browser.new_tab().map_err(|e| anyhow!("opening a tab: {e}"))?;
        tab.set_default_timeout(Duration::from_secs(60));
        tab.navigate_to(&self.server.url("/index.html"))
            .and_then(|t| t.wait_until_navigated())
            .map_err(|e| anyhow!("loading the harness page: {e}"))?;
        self.wait_ready(&tab)?;
        let probe = eval_string(&tab, "window.__budget.probe()", Duration::from_secs(30))?;
        let p: serde_json::Value = serde_json::from_str(&probe)?;
        self.timer_resolution_ms = p["timerResolutionMs"].as_f64();
        self.isolated = p["crossOriginIsolated"].as_bool();
        if self.isolated != Some(true) {
            eprintln!("budget: warning: the harness page is not cross-origin isolated; timers are coarse (100 us)");
        }
        self.tab = Some(tab);
        self.browser = Some(browser);
        Ok(())
    }

    /// Close our harness tab in a remote browser, which would otherwise keep
    /// a hung tab spinning on a core beside the retry (and after the gate
    /// gives up); a launched browser dies with `launched`. The tab is closed
    /// through the DevTools HTTP endpoint (`/json/close/<target>`), not the
    /// websocket: a page that blocks its event loop long enough makes
    /// headless_chrome drop the websocket, and a hung tab left open would
    /// also starve the retry's tab, which shares its renderer process.
    fn close_tab(&mut self) {
        let Some(tab) = self.tab.take() else { return };
        // A launched browser is killed right after (with its tabs).
        let Some(ws) = &self.remote else { return };
        if let Err(e) = devtools_http(ws, &format!("/json/close/{}", tab.get_target_id())) {
            eprintln!("budget: could not close the harness tab: {e:#}");
        }
    }

    fn wait_ready(&self, tab: &Tab) -> Result<()> {
        for _ in 0..200 {
            let r = tab.evaluate("window.__budgetReady === true", false).map_err(|e| anyhow!("{e}"))?;
            if r.value.as_ref().and_then(|v| v.as_bool()) == Some(true) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("the harness page did not become ready within 10 s")
    }

    /// Median time of the reference workload at the current throttle.
    fn reference_ms(&self) -> Result<f64> {
        let tab = self.tab.as_ref().ok_or_else(|| anyhow!("no tab"))?;
        let mut v = Vec::new();
        for _ in 0..7 {
            let r = tab.evaluate("window.__budget.reference()", false).map_err(|e| anyhow!("{e}"))?;
            v.push(r.value.and_then(|x| x.as_f64()).ok_or_else(|| anyhow!("reference workload returned nothing"))?);
        }
        crate::stats::median(&v).ok_or_else(|| anyhow!("no reference samples"))
    }

    /// Find the CDP throttling rate that slows the reference workload by
    /// `target` (CDP's rate is not the slowdown it achieves: 4x gave 2.79x
    /// here). Secant steps on the measured factor; exit 2 when no rate gets
    /// within 15 %.
    fn calibrate_throttle(&mut self, env: &str, target: f64) -> Result<EnvInfo> {
        let base = self.reference_ms()?;
        let mut rate = target;
        let mut best: Option<(f64, f64)> = None;
        for _ in 0..6 {
            self.set_throttle(rate)?;
            let slow = self.reference_ms();
            self.set_throttle(1.0)?;
            let factor = slow? / base;
            eprintln!("budget: environment {env}: CDP throttle rate {rate:.2} slows the reference workload {factor:.2}x (target {target}x)");
            if best.is_none_or(|(_, f)| (f / target - 1.0).abs() > (factor / target - 1.0).abs()) {
                best = Some((rate, factor));
            }
            if (factor / target - 1.0).abs() <= 0.03 {
                break;
            }
            // The slowdown grows about linearly with the rate above 1.
            rate = (1.0 + (rate - 1.0) * (target - 1.0) / (factor - 1.0).max(0.05)).clamp(1.0, 40.0);
        }
        let (rate, achieved) = best.expect("at least one calibration step");
        if (achieved / target - 1.0).abs() > 0.15 {
            bail!(
                "environment {env}: CPU throttling could not be calibrated: the best CDP rate {rate:.2} slowed the reference workload {achieved:.2}x, more than 15 % off the target {target}x (the machine may be too loaded or too noisy; rerun on a quiet machine)"
            );
        }
        Ok(EnvInfo { rate, achieved: Some(achieved) })
    }

    fn set_throttle(&mut self, rate: f64) -> Result<()> {
        let tab = self.tab.as_ref().ok_or_else(|| anyhow!("no tab"))?;
        tab.call_method(Emulation::SetCPUThrottlingRate { rate })
            .map_err(|e| anyhow!("setting CPU throttling to {rate}x: {e}"))?;
        self.current_rate = rate;
        Ok(())
    }

    /// Several runs of one environment in a single evaluate: every CDP call
    /// through headless_chrome's transport costs about 100 ms (its reader
    /// holds the socket in 100 ms read timeouts).
    fn try_run_many(&mut self, runs: &[ScenarioRun]) -> Result<Vec<Result<ScenarioOutput>>> {
        let Some(first) = runs.first() else { return Ok(vec![]) };
        if runs.iter().any(|r| r.throttle != first.throttle) {
            bail!("one round mixes throttle rates");
        }
        if self.current_rate != first.throttle {
            self.set_throttle(first.throttle)?;
        }
        let tab = self.tab.as_ref().ok_or_else(|| anyhow!("no tab"))?.clone();
        run_in_page(&self.server, runs, &mut |expr, timeout| {
            tab.set_default_timeout(timeout);
            eval_string(&tab, expr, timeout)
        })
    }
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
        "realm": r.realm, "pair": pair, "params": r.params,
    })
}

/// Serve one build's module (and glue); their URLs.
fn register_build(server: &Server, profile: &str, wasm: &std::path::Path, glue: Option<&std::path::PathBuf>) -> (String, Option<String>) {
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
/// its own. Engine-neutral: both browsers' measurers call it.
pub fn run_in_page(server: &Server, runs: &[ScenarioRun], eval: &mut dyn FnMut(&str, Duration) -> Result<String>) -> Result<Vec<Result<ScenarioOutput>>> {
    let Some(first) = runs.first() else { return Ok(vec![]) };
    let specs: Vec<serde_json::Value> = runs.iter().map(|r| register(server, r)).collect();
    let timeout = runs.iter().map(|r| r.timeout).sum::<Duration>();
    let t = std::time::Instant::now();
    let text = eval(&format!("window.__budget.runMany({})", serde_json::Value::Array(specs)), timeout)?;
    let all: Vec<serde_json::Value> = serde_json::from_str(&text).context("scenario results are not JSON")?;
    if all.len() != runs.len() {
        bail!("the page returned {} results for {} runs", all.len(), runs.len());
    }
    if std::env::var_os("BUDGET_DEBUG_BLOCKS").is_some() {
        let page: f64 = all.iter().map(|v| v["ok"]["setupMs"].as_f64().unwrap_or(0.0) + v["ok"]["scenarioMs"].as_f64().unwrap_or(0.0)).sum();
        eprintln!("round {} seed {}: {} runs, round trip {:.0} ms, in the page {page:.0} ms", first.scenario, first.seed, runs.len(), t.elapsed().as_secs_f64() * 1000.0);
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
        (Some(_), Some(p)) => Some(Box::new(side_of(r, p, quantity, " on the paired reference build")?)),
        (Some(_), None) => bail!("the run was paired with a reference build but the page returned no samples of it"),
        (None, _) => None,
    };
    Ok(out)
}

/// One side of a scenario's result (a paired run has two).
fn side_of(r: &ScenarioRun, v: &serde_json::Value, quantity: Quantity, which: &str) -> Result<ScenarioOutput> {
    let samples: Vec<f64> = v["samples"]
        .as_array()
        .ok_or_else(|| anyhow!("scenario result has no samples{which}"))?
        .iter()
        .map(|x| x.as_f64().ok_or_else(|| anyhow!("non-numeric sample {x}{which}")))
        .collect::<Result<_>>()?;
    if (samples.len() as u32) < r.iterations {
        bail!("scenario recorded {} samples{which}, the protocol asks for {}", samples.len(), r.iterations);
    }
    Ok(ScenarioOutput {
        quantity,
        samples,
        ops_per_sample: v["opsPerSample"].as_u64().unwrap_or(1) as u32,
        note: v["note"].as_str().unwrap_or("").to_string(),
        parts: v["parts"]
            .as_object()
            .map(|o| o.iter().map(|(k, xs)| (k.clone(), xs.as_array().map(|a| a.iter().filter_map(|x| x.as_f64()).collect()).unwrap_or_default())).collect())
            .unwrap_or_default(),
        pair: None,
        host_ms: None,
    })
}

/// GET `path` from the DevTools HTTP endpoint behind a browser websocket URL
/// (`ws://HOST:PORT/devtools/browser/ID`); the response body.
pub fn devtools_http(ws: &str, path: &str) -> Result<String> {
    use std::io::{Read, Write};
    let host = ws.strip_prefix("ws://").and_then(|r| r.split('/').next()).ok_or_else(|| anyhow!("`{ws}` is not a ws:// DevTools URL"))?;
    let addr = std::net::ToSocketAddrs::to_socket_addrs(host)?.next().ok_or_else(|| anyhow!("{host} does not resolve"))?;
    let mut c = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    c.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(c, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")?;
    let mut raw = Vec::new();
    // Chromium closes the connection after the body; a read timeout ends
    // the wait otherwise, with what arrived.
    let _ = c.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| anyhow!("no HTTP response from {host}{path}"))?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!("{host}{path}: {}", head.lines().next().unwrap_or(""));
    }
    Ok(body.to_string())
}

/// Evaluate an expression that resolves to a string, surfacing JS errors,
/// and failing when it has not resolved within `timeout` (a hung promise).
fn eval_string(tab: &Tab, expr: &str, timeout: Duration) -> Result<String> {
    let r = tab.evaluate(&guarded(expr, timeout), true).map_err(|e| anyhow!("browser: {e}"))?;
    page_result(r.value.as_ref().and_then(|v| v.as_str()))
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

impl Drop for BrowserMeasurer {
    fn drop(&mut self) {
        if self.remote.is_some() {
            self.close_tab();
        }
    }
}

impl Measurer for BrowserMeasurer {
    fn run(&mut self, r: &ScenarioRun) -> Result<ScenarioOutput> {
        crate::measure::run_one(self, r)
    }

    fn run_many(&mut self, runs: &[ScenarioRun]) -> Vec<Result<ScenarioOutput>> {
        match self.try_run_many(runs) {
            Ok(v) => v,
            Err(e) => {
                // The browser or page may be gone: restart it so a retry
                // starts clean, then report the original error.
                let _ = self.connect();
                crate::measure::all_failed(runs, &e)
            }
        }
    }

    fn timer_resolution_ms(&self, _env: &str) -> Option<f64> {
        self.timer_resolution_ms
    }

    fn prepare_environment(&mut self, env: &str, configured: &Environment) -> Result<EnvInfo> {
        if configured.js_flags != self.js_flags {
            if self.remote.is_some() {
                bail!(
                    "environment {env} needs the V8 flags {:?}, which a remote browser (--browser-ws) cannot be given by the gate; \
                     start it with --js-flags=\"{} {}\" and leave {env} out with --env, or measure with a launched browser",
                    configured.js_flags,
                    JS_FLAGS.join(" "),
                    configured.js_flags.join(" ")
                );
            }
            eprintln!("budget: environment {env}: restarting the browser with V8 flags {:?}", configured.js_flags);
            self.js_flags = configured.js_flags.clone();
            self.connect()?;
        }
        if configured.cpu_throttle <= 1.0 {
            return Ok(EnvInfo { rate: 1.0, achieved: None });
        }
        if let Some(info) = self.rates.get(env) {
            return Ok(*info);
        }
        let info = self.calibrate_throttle(env, configured.cpu_throttle)?;
        self.rates.insert(env.to_string(), info);
        Ok(info)
    }

    fn fingerprint(&self, f: &mut Fingerprint) {
        f.chromium = self.version.clone();
        f.browser_origin = match &self.remote {
            Some(u) => format!("remote {u}"),
            None => format!("launched {}", self.exe.as_ref().map(|p| p.display().to_string()).unwrap_or_default()),
        };
        f.timer_resolution_us = self.timer_resolution_ms.map(|r| r * 1000.0);
        f.cross_origin_isolated = self.isolated;
    }

    fn env_browser(&self, _env: &str) -> Option<crate::summary::EnvBrowser> {
        Some(crate::summary::EnvBrowser::new("chromium", &self.version, "CDP", self.timer_resolution_ms, self.isolated))
    }

    fn describe(&self, _env: &str) -> String {
        format!("{} via CDP", self.version)
    }
}
