//! Desktop Firefox as a [`Driver`], over WebDriver BiDi.
//!
//! Firefox speaks BiDi itself (`--remote-debugging-port`), so no geckodriver
//! is needed. The client is the few lines below over tungstenite (already
//! in the build through headless_chrome) rather than a BiDi crate: the
//! maintained ones (webdriverbidi, thirtyfour's bidi module, rustenium) are
//! async on tokio, and the gate is synchronous and needs four commands
//! (`session.new`, `browsingContext.getTree`, `browsingContext.navigate`,
//! `script.evaluate`).

use super::process::{self, Launched, Provision};
use super::Driver;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
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

pub const PROVISION: Provision = Provision {
    name: "Firefox for the Firefox environments",
    env_var: "FIREFOX",
    binaries: &["firefox", "firefox-esr"],
    apt_package: "firefox-esr",
    otherwise:
        "point $FIREFOX at a firefox binary, or leave the Firefox environments out with --env",
};

/// Start headless Firefox with a fresh profile and wait (bounded) for its
/// BiDi endpoint (`ws://127.0.0.1:PORT`, the result's `endpoint`).
fn launch(exe: &Path) -> Result<Launched> {
    let profile_dir = process::fresh_profile("firefox")?;
    let prefs: String = PREFS
        .iter()
        .map(|(k, v)| format!("user_pref(\"{k}\", {v});\n"))
        .collect();
    if let Err(e) = std::fs::write(profile_dir.join("user.js"), prefs) {
        let _ = std::fs::remove_dir_all(&profile_dir);
        return Err(e).context("writing the Firefox profile's user.js");
    }
    let mut cmd = Command::new(exe);
    cmd.args([
        "--headless",
        "--no-remote",
        "--remote-debugging-port=0",
        "--profile",
    ])
    .arg(&profile_dir)
    .arg("about:blank")
    .env("MOZ_CRASHREPORTER_DISABLE", "1")
    .env("MOZ_DISABLE_AUTO_SAFE_MODE", "1");
    process::launch(
        cmd,
        profile_dir,
        "Firefox",
        "WebDriver BiDi listening on ",
        "its WebDriver BiDi endpoint",
    )
}

/// A WebDriver BiDi session over one websocket: commands in, their results
/// out; events (none are subscribed) are skipped.
struct Bidi {
    ws: tungstenite::WebSocket<TcpStream>,
    next_id: u64,
}

impl Bidi {
    fn connect(root: &str) -> Result<Bidi> {
        let (_, addr) = super::process::ws_addr(root)?;
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .with_context(|| format!("connecting to Firefox's BiDi endpoint {root}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let url = format!("{}/session", root.trim_end_matches('/'));
        let (ws, _) = tungstenite::client(url.as_str(), stream)
            .map_err(|e| anyhow!("opening the BiDi websocket {url}: {e}"))?;
        Ok(Bidi { ws, next_id: 1 })
    }

    /// Send one command and wait at most `timeout` for its result.
    fn call(&mut self, method: &str, params: Value, timeout: Duration) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let deadline = Instant::now() + timeout;
        self.ws
            .send(tungstenite::Message::text(
                json!({ "id": id, "method": method, "params": params }).to_string(),
            ))
            .map_err(|e| anyhow!("BiDi {method}: sending: {e}"))?;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!("BiDi {method}: no answer within {} s", timeout.as_secs());
            }
            self.ws
                .get_mut()
                .set_read_timeout(Some(left.max(Duration::from_millis(10))))?;
            let msg = match self.ws.read() {
                Ok(m) => m,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    bail!("BiDi {method}: no answer within {} s", timeout.as_secs())
                }
                Err(e) => bail!("BiDi {method}: the connection to Firefox failed: {e}"),
            };
            let Ok(text) = msg.to_text() else { continue };
            let Ok(v) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            if v["id"].as_u64() != Some(id) {
                continue;
            }
            return match v["type"].as_str() {
                Some("success") => Ok(v["result"].clone()),
                _ => bail!(
                    "BiDi {method}: {} ({})",
                    v["error"].as_str().unwrap_or("error"),
                    v["message"].as_str().unwrap_or("")
                ),
            };
        }
    }
}

/// Headless Firefox over WebDriver BiDi, always launched by the gate.
pub struct Firefox {
    exe: PathBuf,
    // Declared before `launched`, so the session closes first.
    page: Option<(Bidi, String)>,
    launched: Option<Launched>,
}

impl Firefox {
    /// Firefox, found or installed now.
    pub fn new() -> Result<Firefox> {
        Ok(Firefox {
            exe: process::find_or_install(&PROVISION)?,
            page: None,
            launched: None,
        })
    }
}

impl Driver for Firefox {
    const ENGINE: &'static str = "firefox";
    const PROTOCOL: &'static str = "WebDriver BiDi";

    fn open(&mut self, url: &str, js_flags: &[String]) -> Result<String> {
        if !js_flags.is_empty() {
            bail!("Firefox takes no V8 flags");
        }
        self.page = None;
        self.launched = None;
        let launched = launch(&self.exe)?;
        let mut bidi = Bidi::connect(&launched.endpoint)?;
        self.launched = Some(launched);
        let t = Duration::from_secs(30);
        let session = bidi.call("session.new", json!({ "capabilities": {} }), t)?;
        let caps = &session["capabilities"];
        let version = format!(
            "{}/{}",
            caps["browserName"].as_str().unwrap_or("firefox"),
            caps["browserVersion"].as_str().unwrap_or("?")
        );
        let tree = bidi.call("browsingContext.getTree", json!({}), t)?;
        let context = tree["contexts"][0]["context"]
            .as_str()
            .ok_or_else(|| anyhow!("Firefox reported no browsing context"))?
            .to_string();
        bidi.call(
            "browsingContext.navigate",
            json!({ "context": context, "url": url, "wait": "complete" }),
            Duration::from_secs(60),
        )
        .context("loading the harness page in Firefox")?;
        self.page = Some((bidi, context));
        Ok(version)
    }

    fn evaluate(&mut self, expr: &str, timeout: Duration) -> Result<Value> {
        let (bidi, context) = self
            .page
            .as_mut()
            .ok_or_else(|| anyhow!("no Firefox page"))?;
        let r = bidi.call(
            "script.evaluate",
            json!({ "expression": expr, "target": { "context": context }, "awaitPromise": true, "resultOwnership": "none" }),
            timeout,
        )?;
        match r["type"].as_str() {
            Some("success") => Ok(r["result"]["value"].clone()),
            _ => bail!(
                "in the page: {}",
                r["exceptionDetails"]["text"]
                    .as_str()
                    .unwrap_or("an exception")
            ),
        }
    }

    fn origin(&self) -> String {
        format!("launched {}", self.exe.display())
    }
}
