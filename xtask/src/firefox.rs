//! Desktop Firefox as a [`Measurer`], driven over WebDriver BiDi, plus its
//! provisioning.
//!
//! Firefox speaks BiDi itself (`--remote-debugging-port`), so no geckodriver
//! is needed. The client is the few lines below over tungstenite (already
//! in the build through headless_chrome) rather than a BiDi crate: the
//! maintained ones (webdriverbidi, thirtyfour's bidi module, rustenium) are
//! async on tokio, and the gate is synchronous and needs four commands
//! (`session.new`, `browsingContext.getTree`, `browsingContext.navigate`,
//! `script.evaluate`). The page is the same harness as Chromium's, running
//! the same scenarios through the same `runMany` call.

use crate::browser::{guarded, harness_server, kill_group, page_result, run_in_page, spawn_announcing};
use crate::config::Environment;
use crate::measure::{EnvInfo, Measurer, ScenarioOutput, ScenarioRun};
use crate::server::Server;
use crate::summary::EnvBrowser;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Preferences of the fresh profile: no first-run pages, telemetry,
/// updates, studies or background network (the machine's network is
/// closed; Firefox's remote agent sets more of these itself).
const PREFS: &[(&str, &str)] = &[
    ("browser.shell.checkDefaultBrowser", "false"),
    ("browser.startup.homepage_override.mstone", "\"ignore\""),
    ("browser.aboutwelcome.enabled", "false"),
    ("startup.homepage_welcome_url", "\"about:blank\""),
    ("datareporting.policy.dataSubmissionEnabled", "false"),
    ("datareporting.healthreport.uploadEnabled", "false"),
    ("toolkit.telemetry.enabled", "false"),
    ("toolkit.telemetry.unified", "false"),
    ("toolkit.telemetry.server", "\"\""),
    ("app.update.disabledForTesting", "true"),
    ("app.update.auto", "false"),
    ("app.normandy.enabled", "false"),
    ("messaging-system.rsexperimentloader.enabled", "false"),
    ("extensions.update.enabled", "false"),
    ("extensions.getAddons.cache.enabled", "false"),
    ("browser.safebrowsing.malware.enabled", "false"),
    ("browser.safebrowsing.phishing.enabled", "false"),
    ("browser.safebrowsing.downloads.enabled", "false"),
    ("network.captive-portal-service.enabled", "false"),
    ("network.connectivity-service.enabled", "false"),
    ("services.settings.server", "\"data:,#remote-settings-off\""),
    ("browser.newtabpage.enabled", "false"),
    // A long scenario must not be interrupted by the slow-script dialog.
    ("dom.max_script_run_time", "0"),
];

/// Find Firefox: `$FIREFOX`, then the usual names on PATH; install Debian's
/// firefox-esr when we are root with apt-get; otherwise say how to get one.
pub fn find_or_install() -> Result<PathBuf> {
    if let Some(f) = std::env::var_os("FIREFOX") {
        let p = PathBuf::from(f);
        if p.is_file() {
            return Ok(p);
        }
        bail!("$FIREFOX is set to {}, which does not exist", p.display());
    }
    if let Some(p) = which_firefox() {
        return Ok(p);
    }
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0")).unwrap_or(false);
    if root && Path::new("/usr/bin/apt-get").is_file() {
        eprintln!("budget: no Firefox found; installing Debian's firefox-esr (apt-get update && apt-get install -y firefox-esr)");
        let ok = Command::new("sh")
            .args(["-c", "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q firefox-esr"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            if let Some(p) = which_firefox() {
                return Ok(p);
            }
        }
        bail!("installing firefox-esr with apt-get failed; run `apt-get update && apt-get install -y firefox-esr` and retry");
    }
    bail!(
        "no Firefox found for the Firefox environments. Install one and retry:\n  Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y firefox-esr\n  \
         or point $FIREFOX at a firefox binary, or leave the Firefox environments out with --env"
    )
}

fn which_firefox() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in ["firefox", "firefox-esr"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// A Firefox child process, killed with its content processes (and its
/// profile directory removed) on drop.
struct Launched {
    child: Child,
    profile_dir: PathBuf,
    /// `ws://127.0.0.1:PORT`, the BiDi endpoint's root.
    ws_url: String,
}

impl Drop for Launched {
    fn drop(&mut self) {
        kill_group(&mut self.child);
        let _ = std::fs::remove_dir_all(&self.profile_dir);
    }
}

/// Start headless Firefox with a fresh profile and wait (bounded) for its
/// BiDi endpoint.
fn launch(exe: &Path) -> Result<Launched> {
    let profile_dir = std::env::temp_dir().join(format!(
        "budget-firefox-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
    ));
    std::fs::create_dir_all(&profile_dir)?;
    let prefs: String = PREFS.iter().map(|(k, v)| format!("user_pref(\"{k}\", {v});\n")).collect();
    std::fs::write(profile_dir.join("user.js"), prefs).context("writing the Firefox profile's user.js")?;
    let mut cmd = Command::new(exe);
    cmd.args(["--headless", "--no-remote", "--remote-debugging-port=0", "--profile"])
        .arg(&profile_dir)
        .arg("about:blank")
        .env("MOZ_CRASHREPORTER_DISABLE", "1")
        .env("MOZ_DISABLE_AUTO_SAFE_MODE", "1");
    let (child, url) = match spawn_announcing(cmd, "Firefox", "WebDriver BiDi listening on ", "its WebDriver BiDi endpoint") {
        Ok(x) => x,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&profile_dir);
            return Err(e);
        }
    };
    Ok(Launched { child, profile_dir, ws_url: url })
}

/// A WebDriver BiDi session over one websocket: commands in, their results
/// out; events (none are subscribed) are skipped.
struct Bidi {
    ws: tungstenite::WebSocket<TcpStream>,
    next_id: u64,
}

impl Bidi {
    fn connect(root: &str) -> Result<Bidi> {
        let host = root.strip_prefix("ws://").and_then(|r| r.split('/').next()).ok_or_else(|| anyhow!("`{root}` is not a ws:// URL"))?;
        let addr = std::net::ToSocketAddrs::to_socket_addrs(host)?.next().ok_or_else(|| anyhow!("{host} does not resolve"))?;
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).with_context(|| format!("connecting to Firefox's BiDi endpoint {root}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let url = format!("{}/session", root.trim_end_matches('/'));
        let (ws, _) = tungstenite::client(url.as_str(), stream).map_err(|e| anyhow!("opening the BiDi websocket {url}: {e}"))?;
        Ok(Bidi { ws, next_id: 1 })
    }

    /// Send one command and wait at most `timeout` for its result.
    fn call(&mut self, method: &str, params: Value, timeout: Duration) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let deadline = Instant::now() + timeout;
        self.ws
            .send(tungstenite::Message::text(json!({ "id": id, "method": method, "params": params }).to_string()))
            .map_err(|e| anyhow!("BiDi {method}: sending: {e}"))?;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!("BiDi {method}: no answer within {} s", timeout.as_secs());
            }
            self.ws.get_mut().set_read_timeout(Some(left.max(Duration::from_millis(10))))?;
            let msg = match self.ws.read() {
                Ok(m) => m,
                Err(tungstenite::Error::Io(e)) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    bail!("BiDi {method}: no answer within {} s", timeout.as_secs())
                }
                Err(e) => bail!("BiDi {method}: the connection to Firefox failed: {e}"),
            };
            let Ok(text) = msg.to_text() else { continue };
            let Ok(v) = serde_json::from_str::<Value>(text) else { continue };
            if v["id"].as_u64() != Some(id) {
                continue;
            }
            return match v["type"].as_str() {
                Some("success") => Ok(v["result"].clone()),
                _ => bail!("BiDi {method}: {} ({})", v["error"].as_str().unwrap_or("error"), v["message"].as_str().unwrap_or("")),
            };
        }
    }
}

/// The harness page in Firefox: the session and its browsing context.
struct Page {
    bidi: Bidi,
    context: String,
}

impl Page {
    /// `script.evaluate` in the harness page, awaiting a promise; the
    /// remote value of the result.
    fn evaluate_raw(&mut self, expr: &str, timeout: Duration) -> Result<Value> {
        let r = self.bidi.call(
            "script.evaluate",
            json!({ "expression": expr, "target": { "context": self.context }, "awaitPromise": true, "resultOwnership": "none" }),
            timeout,
        )?;
        match r["type"].as_str() {
            Some("success") => Ok(r["result"].clone()),
            _ => bail!("in the page: {}", r["exceptionDetails"]["text"].as_str().unwrap_or("an exception")),
        }
    }

    /// A string-valued expression, guarded like Chromium's (JS errors and a
    /// hung promise come back as errors). The websocket wait outlasts the
    /// in-page timeout, so a page that blocks its event loop still ends.
    fn evaluate(&mut self, expr: &str, timeout: Duration) -> Result<String> {
        let v = self.evaluate_raw(&guarded(expr, timeout), timeout + Duration::from_secs(30))?;
        page_result(v["value"].as_str())
    }
}

/// Headless Firefox as a measurer.
pub struct FirefoxMeasurer {
    server: Server,
    // Declared before `launched` so the session closes first.
    page: Option<Page>,
    launched: Option<Launched>,
    exe: PathBuf,
    version: String,
    timer_resolution_ms: Option<f64>,
    isolated: Option<bool>,
}

impl FirefoxMeasurer {
    pub fn start(harness: Option<std::net::IpAddr>) -> Result<FirefoxMeasurer> {
        let exe = find_or_install()?;
        let mut m = FirefoxMeasurer {
            server: harness_server(harness)?,
            page: None,
            launched: None,
            exe,
            version: String::new(),
            timer_resolution_ms: None,
            isolated: None,
        };
        m.connect()?;
        Ok(m)
    }

    /// (Re)start Firefox and open the harness page.
    fn connect(&mut self) -> Result<()> {
        self.page = None;
        self.launched = None;
        let launched = launch(&self.exe)?;
        let mut bidi = Bidi::connect(&launched.ws_url)?;
        self.launched = Some(launched);
        let t = Duration::from_secs(30);
        let session = bidi.call("session.new", json!({ "capabilities": {} }), t)?;
        let caps = &session["capabilities"];
        self.version = format!("{}/{}", caps["browserName"].as_str().unwrap_or("firefox"), caps["browserVersion"].as_str().unwrap_or("?"));
        let tree = bidi.call("browsingContext.getTree", json!({}), t)?;
        let context = tree["contexts"][0]["context"].as_str().ok_or_else(|| anyhow!("Firefox reported no browsing context"))?.to_string();
        bidi.call("browsingContext.navigate", json!({ "context": context, "url": self.server.url("/index.html"), "wait": "complete" }), Duration::from_secs(60))
            .context("loading the harness page in Firefox")?;
        let mut page = Page { bidi, context };
        for i in 0.. {
            if page.evaluate_raw("window.__budgetReady === true", t)?["value"].as_bool() == Some(true) {
                break;
            }
            if i >= 200 {
                bail!("the harness page did not become ready in Firefox within 10 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let p: Value = serde_json::from_str(&page.evaluate("window.__budget.probe()", t)?)?;
        self.timer_resolution_ms = p["timerResolutionMs"].as_f64();
        self.isolated = p["crossOriginIsolated"].as_bool();
        if self.isolated != Some(true) {
            eprintln!("budget: warning: the harness page is not cross-origin isolated in Firefox; its timers are coarse");
        }
        self.page = Some(page);
        Ok(())
    }
}

impl Measurer for FirefoxMeasurer {
    fn run(&mut self, r: &ScenarioRun) -> Result<ScenarioOutput> {
        crate::measure::run_one(self, r)
    }

    fn run_many(&mut self, runs: &[ScenarioRun]) -> Vec<Result<ScenarioOutput>> {
        let out = match (runs.iter().find(|r| r.throttle != 1.0), self.page.as_mut()) {
            (Some(r), _) => Err(anyhow!("environment {}: Firefox cannot be CPU-throttled", r.environment)),
            (None, None) => Err(anyhow!("no Firefox page")),
            (None, Some(page)) => run_in_page(&self.server, runs, &mut |expr, timeout| page.evaluate(expr, timeout)),
        };
        match out {
            Ok(v) => v,
            Err(e) => {
                // Firefox or the page may be gone or hung: restart it so a
                // retry starts clean, then report the original error.
                let _ = self.connect();
                crate::measure::all_failed(runs, &e)
            }
        }
    }

    fn timer_resolution_ms(&self, _env: &str) -> Option<f64> {
        self.timer_resolution_ms
    }

    fn prepare_environment(&mut self, env: &str, configured: &Environment) -> Result<EnvInfo> {
        // budgets.toml validation refuses both for Firefox environments.
        if configured.cpu_throttle != 1.0 || !configured.js_flags.is_empty() {
            bail!("environment {env}: Firefox takes no CPU throttling and no V8 flags");
        }
        Ok(EnvInfo { rate: 1.0, achieved: None })
    }

    fn env_browser(&self, _env: &str) -> Option<EnvBrowser> {
        Some(EnvBrowser::new("firefox", &self.version, "WebDriver BiDi", self.timer_resolution_ms, self.isolated))
    }

    fn describe(&self, _env: &str) -> String {
        format!("{} via WebDriver BiDi", self.version)
    }
}
