//! The real [`Measurer`]: the harness page in a headless browser.
//!
//! One generic measurer, [`PageMeasurer`], owns everything that is the same
//! in every browser: the harness server, waiting for the page, the clock
//! probe and its isolation warning, restart after a failed round, CPU
//! throttle calibration, V8 flags, and what the fingerprint says. What
//! differs per engine sits behind [`Driver`]: how the browser is started
//! or reached, how the page evaluates an expression, and the engine's
//! extras. Chromium speaks CDP ([`chromium`]), Firefox WebDriver BiDi
//! ([`firefox`]); a third engine is one more file that implements
//! [`Driver`], and one more [`crate::config::BrowserKind`].

pub mod chromium;
pub mod firefox;
pub mod page;
pub mod process;
pub mod webkit;

use crate::config::Environment;
use crate::measure::{EnvInfo, Measurer, ScenarioOutput, ScenarioRun};
use crate::server::Server;
use crate::summary::{EnvBrowser, Fingerprint};
use anyhow::{anyhow, bail, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// What differs per browser engine.
pub trait Driver {
    /// The engine's name in reports and the fingerprint ("chromium").
    const ENGINE: &'static str;
    /// The protocol the gate speaks to it ("CDP").
    const PROTOCOL: &'static str;
    /// (Re)start the browser, or reconnect to a remote one, giving it the
    /// V8 flags `js_flags` beyond the engine's own, and load `url` in a
    /// fresh page. Whatever page was open before is let go first. Returns
    /// the browser's product and version.
    fn open(&mut self, url: &str, js_flags: &[String]) -> Result<String>;
    /// Evaluate `expr` in the page, awaiting a promise; its JSON value
    /// (null when it has none). Gives up after `timeout`.
    fn evaluate(&mut self, expr: &str, timeout: Duration) -> Result<Value>;
    /// Slow the page's CPU by the engine's emulation `rate` (1 = none).
    fn set_cpu_throttle(&mut self, rate: f64) -> Result<()> {
        if rate == 1.0 {
            return Ok(());
        }
        bail!("{} cannot be CPU-throttled", Self::ENGINE)
    }
    /// Ok when [`Driver::open`] can give the browser other V8 flags, else
    /// why not (for environment `env`, which needs `flags`).
    fn can_set_js_flags(&self, env: &str, flags: &[String]) -> Result<()> {
        let _ = flags;
        bail!("environment {env}: {} takes no V8 flags", Self::ENGINE)
    }
    /// Where the browser came from, for the fingerprint: `launched PATH`
    /// or `remote URL`.
    fn origin(&self) -> String;
}

/// The harness page in one browser, as a [`Measurer`].
pub struct PageMeasurer<D: Driver> {
    driver: D,
    server: Server,
    version: String,
    timer_resolution_ms: Option<f64>,
    isolated: Option<bool>,
    /// V8 flags of the running browser beyond the engine's own.
    js_flags: Vec<String>,
    /// Calibrated throttling per environment.
    rates: BTreeMap<String, EnvInfo>,
    /// The throttling rate the page runs under now.
    current_rate: f64,
}

impl<D: Driver> PageMeasurer<D> {
    /// Start the browser and load the harness page. `harness`: the address
    /// the harness server listens on (loopback when None); a browser on
    /// another host needs one it can reach.
    pub fn start(driver: D, harness: Option<std::net::IpAddr>) -> Result<PageMeasurer<D>> {
        let mut m = PageMeasurer {
            driver,
            server: page::harness_server(harness)?,
            version: String::new(),
            timer_resolution_ms: None,
            isolated: None,
            js_flags: Vec::new(),
            rates: BTreeMap::new(),
            current_rate: 1.0,
        };
        m.connect()?;
        Ok(m)
    }

    /// (Re)start the browser, wait for the harness page and probe its clock.
    fn connect(&mut self) -> Result<()> {
        self.current_rate = 1.0;
        self.version = self
            .driver
            .open(&self.server.url("/index.html"), &self.js_flags)?;
        let ready = Duration::from_secs(30);
        let mut waited = 0;
        while self
            .driver
            .evaluate("window.__budgetReady === true", ready)?
            .as_bool()
            != Some(true)
        {
            if waited >= 200 {
                bail!(
                    "the harness page did not become ready in {} within 10 s",
                    self.version
                );
            }
            waited += 1;
            std::thread::sleep(Duration::from_millis(50));
        }
        let p: Value = serde_json::from_str(&eval_string(
            &mut self.driver,
            "window.__budget.probe()",
            ready,
        )?)?;
        self.timer_resolution_ms = p["timerResolutionMs"].as_f64();
        self.isolated = p["crossOriginIsolated"].as_bool();
        if self.isolated != Some(true) {
            eprintln!("budget: warning: the harness page is not cross-origin isolated in {}; its timers are coarse", self.version);
        }
        Ok(())
    }

    fn set_throttle(&mut self, rate: f64) -> Result<()> {
        self.driver.set_cpu_throttle(rate)?;
        self.current_rate = rate;
        Ok(())
    }

    /// Median time of the page's reference workload at the current throttle.
    fn reference_ms(&mut self) -> Result<f64> {
        let mut v = Vec::new();
        for _ in 0..7 {
            let ms = self
                .driver
                .evaluate("window.__budget.reference()", Duration::from_secs(30))?;
            v.push(
                ms.as_f64()
                    .ok_or_else(|| anyhow!("the reference workload returned nothing"))?,
            );
        }
        crate::stats::median(&v).ok_or_else(|| anyhow!("no reference samples"))
    }

    /// Find the throttling rate that slows the reference workload by
    /// `target` (an engine's rate is not the slowdown it achieves: CDP's 4x
    /// gave 2.79x here). Secant steps on the measured factor; an error
    /// (exit 2) when no rate gets within 15 %.
    fn calibrate_throttle(&mut self, env: &str, target: f64) -> Result<EnvInfo> {
        let base = self.reference_ms()?;
        let mut rate = target;
        let mut best: Option<(f64, f64)> = None;
        for _ in 0..6 {
            self.set_throttle(rate)?;
            let slow = self.reference_ms();
            self.set_throttle(1.0)?;
            let factor = slow? / base;
            eprintln!("budget: environment {env}: throttle rate {rate:.2} slows the reference workload {factor:.2}x (target {target}x)");
            if best.is_none_or(|(_, f)| (f / target - 1.0).abs() > (factor / target - 1.0).abs()) {
                best = Some((rate, factor));
            }
            if (factor / target - 1.0).abs() <= 0.03 {
                break;
            }
            // The slowdown grows about linearly with the rate above 1.
            rate =
                (1.0 + (rate - 1.0) * (target - 1.0) / (factor - 1.0).max(0.05)).clamp(1.0, 40.0);
        }
        let (rate, achieved) = best.expect("at least one calibration step");
        if (achieved / target - 1.0).abs() > 0.15 {
            bail!(
                "CPU throttling could not be calibrated: the best rate {rate:.2} slowed the reference workload {achieved:.2}x, more than 15 % off the target {target}x (the machine may be too loaded or too noisy; rerun on a quiet machine)"
            );
        }
        Ok(EnvInfo {
            rate,
            achieved: Some(achieved),
        })
    }

    /// One round of runs of one environment, in one evaluation.
    fn try_run_many(&mut self, runs: &[ScenarioRun]) -> Result<Vec<Result<ScenarioOutput>>> {
        let Some(first) = runs.first() else {
            return Ok(vec![]);
        };
        if runs.iter().any(|r| r.throttle != first.throttle) {
            bail!("one round mixes throttle rates");
        }
        if self.current_rate != first.throttle {
            self.set_throttle(first.throttle)
                .map_err(|e| anyhow!("environment {}: {e:#}", first.environment))?;
        }
        let PageMeasurer { driver, server, .. } = self;
        page::run_in_page(server, runs, &mut |expr, timeout| {
            eval_string(driver, expr, timeout)
        })
    }
}

/// A string-valued expression, guarded: a JS error comes back as an
/// error, and so does a promise still pending after `timeout`. The
/// transport waits 30 s longer than the page, so a page that blocks its own
/// event loop (where the in-page timeout cannot fire) still ends.
fn eval_string(driver: &mut impl Driver, expr: &str, timeout: Duration) -> Result<String> {
    let v = driver.evaluate(
        &page::guarded(expr, timeout),
        timeout + Duration::from_secs(30),
    )?;
    page::page_result(v.as_str())
}

impl<D: Driver> Measurer for PageMeasurer<D> {
    fn run_many(&mut self, runs: &[ScenarioRun]) -> Vec<Result<ScenarioOutput>> {
        match self.try_run_many(runs) {
            Ok(v) => v,
            Err(e) => {
                // The browser or page may be gone or hung: restart it so a
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
        if configured.js_flags != self.js_flags {
            self.driver.can_set_js_flags(env, &configured.js_flags)?;
            eprintln!(
                "budget: environment {env}: restarting the browser with V8 flags {:?}",
                configured.js_flags
            );
            self.js_flags = configured.js_flags.clone();
            self.connect()?;
        }
        if configured.cpu_throttle <= 1.0 {
            return Ok(EnvInfo {
                rate: 1.0,
                achieved: None,
            });
        }
        if let Some(info) = self.rates.get(env) {
            return Ok(*info);
        }
        let info = self
            .calibrate_throttle(env, configured.cpu_throttle)
            .map_err(|e| anyhow!("environment {env}: {e:#}"))?;
        self.rates.insert(env.to_string(), info);
        Ok(info)
    }

    fn fingerprint(&self, f: &mut Fingerprint) {
        f.chromium = self.version.clone();
        f.browser_origin = self.driver.origin();
        f.timer_resolution_us = self.timer_resolution_ms.map(|r| r * 1000.0);
        f.cross_origin_isolated = self.isolated;
    }

    fn env_browser(&self, _env: &str) -> Option<EnvBrowser> {
        Some(EnvBrowser::new(
            D::ENGINE,
            &self.version,
            D::PROTOCOL,
            self.timer_resolution_ms,
            self.isolated,
        ))
    }

    fn describe(&self, _env: &str) -> String {
        format!("{} via {}", self.version, D::PROTOCOL)
    }

    fn browser_version(&mut self, _env: &str) -> Result<String> {
        Ok(self.version.clone())
    }
}
