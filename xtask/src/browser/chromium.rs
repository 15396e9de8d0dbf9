//! Chromium as a [`Driver`], over CDP (headless_chrome).
//!
//! We start Chromium ourselves rather than through headless_chrome's
//! launcher, for two reasons: the child gets `PR_SET_PDEATHSIG`, so it dies
//! with the gate even on SIGKILL or Ctrl-C (no stray chromium), and the same
//! `Browser::connect` path serves both a launched browser and `--browser-ws`
//! (a browser farm or device lab).

use super::process::{self, Launched, Provision};
use super::Driver;
use anyhow::{anyhow, bail, Result};
use headless_chrome::protocol::cdp::Emulation;
use headless_chrome::{Browser, Tab};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

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

/// V8 flags of every launch: gc() for the heap probe (heap samples are
/// taken after a full collection, so they measure what the page holds, not
/// when V8 last happened to collect) and the cold-init samples' GC.
pub const JS_FLAGS: &[&str] = &["--expose-gc"];

pub const PROVISION: Provision = Provision {
    name: "Chromium or Chrome",
    env_var: "CHROME",
    binaries: &["chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"],
    apt_package: "chromium",
    otherwise: "point $CHROME at a Chrome/Chromium binary, or pass --browser-ws ws://HOST:PORT/devtools/browser/ID",
};

/// Find Chromium, installing it if we can.
pub fn find_or_install() -> Result<PathBuf> {
    process::find_or_install(&PROVISION)
}

/// Start Chromium with a fresh profile directory, [`FLAGS`], and the V8
/// flags [`JS_FLAGS`] and `extra_js_flags`; wait (bounded) for its DevTools
/// endpoint, the result's `endpoint`.
pub fn launch(exe: &Path, extra_js_flags: &[String]) -> Result<Launched> {
    let profile_dir = process::fresh_profile("chromium")?;
    let mut cmd = Command::new(exe);
    let js: Vec<&str> = JS_FLAGS
        .iter()
        .copied()
        .chain(extra_js_flags.iter().map(String::as_str))
        .collect();
    cmd.args(FLAGS)
        .arg(format!("--js-flags={}", js.join(" ")))
        .arg(format!("--user-data-dir={}", profile_dir.display()))
        .arg("about:blank");
    process::launch(
        cmd,
        profile_dir,
        "Chromium",
        "DevTools listening on ",
        "its DevTools endpoint",
    )
}

/// Where the Chromium comes from.
enum Origin {
    Launched(PathBuf),
    /// `--browser-ws`: a Chromium started elsewhere.
    Remote(String),
}

/// Headless Chromium over CDP: launched by the gate, or reached at a
/// DevTools websocket.
pub struct Cdp {
    origin: Origin,
    /// Bounds every CDP call (see [`Cdp::open`]).
    scenario_timeout: Duration,
    // Declared before `launched`, so the CDP connection closes first.
    tab: Option<Arc<Tab>>,
    browser: Option<Browser>,
    launched: Option<Launched>,
}

impl Cdp {
    /// A launched Chromium (found or installed now), or the one at `remote`.
    pub fn new(scenario_timeout: Duration, remote: Option<&str>) -> Result<Cdp> {
        let origin = match remote {
            Some(url) => Origin::Remote(url.to_string()),
            None => Origin::Launched(find_or_install()?),
        };
        Ok(Cdp {
            origin,
            scenario_timeout,
            tab: None,
            browser: None,
            launched: None,
        })
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
        let Origin::Remote(ws) = &self.origin else {
            return;
        };
        if let Err(e) = devtools_http(ws, &format!("/json/close/{}", tab.get_target_id())) {
            eprintln!("budget: could not close the harness tab: {e:#}");
        }
    }
}

impl Drop for Cdp {
    fn drop(&mut self) {
        self.close_tab();
    }
}

impl Driver for Cdp {
    const ENGINE: &'static str = "chromium";
    const PROTOCOL: &'static str = "CDP";

    fn open(&mut self, url: &str, js_flags: &[String]) -> Result<String> {
        self.close_tab();
        self.browser = None;
        self.launched = None;
        let ws = match &self.origin {
            Origin::Remote(ws) => ws.clone(),
            Origin::Launched(exe) => {
                let l = launch(exe, js_flags)?;
                let ws = l.endpoint.clone();
                self.launched = Some(l);
                ws
            }
        };
        // The CDP transport gives up on a call after this long without a
        // message: it bounds a scenario that blocks the page's event loop
        // (the in-page timeout cannot fire then).
        let browser = Browser::connect_with_timeout(
            ws.clone(),
            self.scenario_timeout + Duration::from_secs(30),
        )
        .map_err(|e| anyhow!("connecting to the browser at {ws}: {e}"))?;
        let version = browser
            .get_version()
            .map_err(|e| anyhow!("asking the browser its version: {e}"))?
            .product;
        let tab = browser
            .new_tab()
            .map_err(|e| anyhow!("opening a tab: {e}"))?;
        tab.set_default_timeout(Duration::from_secs(60));
        tab.navigate_to(url)
            .and_then(|t| t.wait_until_navigated())
            .map_err(|e| anyhow!("loading the harness page: {e}"))?;
        self.tab = Some(tab);
        self.browser = Some(browser);
        Ok(version)
    }

    fn evaluate(&mut self, expr: &str, timeout: Duration) -> Result<Value> {
        let tab = self
            .tab
            .as_ref()
            .ok_or_else(|| anyhow!("no Chromium tab"))?;
        tab.set_default_timeout(timeout);
        let r = tab
            .evaluate(expr, true)
            .map_err(|e| anyhow!("browser: {e}"))?;
        Ok(r.value.unwrap_or(Value::Null))
    }

    fn set_cpu_throttle(&mut self, rate: f64) -> Result<()> {
        let tab = self
            .tab
            .as_ref()
            .ok_or_else(|| anyhow!("no Chromium tab"))?;
        tab.call_method(Emulation::SetCPUThrottlingRate { rate })
            .map_err(|e| anyhow!("setting CPU throttling to {rate}x: {e}"))?;
        Ok(())
    }

    fn can_set_js_flags(&self, env: &str, flags: &[String]) -> Result<()> {
        if let Origin::Remote(_) = self.origin {
            bail!(
                "environment {env} needs the V8 flags {flags:?}, which a remote browser (--browser-ws) cannot be given by the gate; \
                 start it with --js-flags=\"{} {}\" and leave {env} out with --env, or measure with a launched browser",
                JS_FLAGS.join(" "),
                flags.join(" ")
            );
        }
        Ok(())
    }

    fn origin(&self) -> String {
        match &self.origin {
            Origin::Remote(u) => format!("remote {u}"),
            Origin::Launched(exe) => format!("launched {}", exe.display()),
        }
    }
}

/// GET `path` from the DevTools HTTP endpoint behind a browser websocket URL
/// (`ws://HOST:PORT/devtools/browser/ID`); the response body.
pub fn devtools_http(ws: &str, path: &str) -> Result<String> {
    use std::io::{Read, Write};
    let (host, addr) = super::process::ws_addr(ws)?;
    let mut c = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    c.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    // Chromium closes the connection after the body; a read timeout ends
    // the wait otherwise, with what arrived.
    let _ = c.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("no HTTP response from {host}{path}"))?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!("{host}{path}: {}", head.lines().next().unwrap_or(""));
    }
    Ok(body.to_string())
}
