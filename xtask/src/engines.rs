//! The run's real [`Measurer`]: each environment is measured in the browser
//! budgets.toml names for it (`browser = "chromium" | "firefox" |
//! "webkit"`). Each browser starts on first use, so a run of Chromium
//! environments never needs Firefox or WebKit, and the other way round.

use crate::browser::chromium::Cdp;
use crate::browser::firefox::Firefox;
use crate::browser::webkit::WebKit;
use crate::browser::PageMeasurer;
use crate::config::{BrowserKind, Config, Environment};
use crate::measure::{EnvInfo, Measurer, ScenarioOutput, ScenarioRun};
use crate::summary::{EnvBrowser, Fingerprint};
use anyhow::{anyhow, bail, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Browsers started elsewhere, and where they reach the harness.
#[derive(Debug, Clone, Default)]
pub struct Remote {
    /// `--browser-ws`: a Chromium's DevTools websocket.
    pub browser_ws: Option<String>,
    /// `--webdriver-url`: a classic WebDriver endpoint of a WebKit
    /// (safaridriver, WebKitWebDriver, a Grid node).
    pub webdriver_url: Option<String>,
    /// `--harness-addr`: where the harness server listens.
    pub harness: Option<std::net::IpAddr>,
}

impl Remote {
    /// The address given for engine `kind` (by its capability's flag).
    fn url(&self, kind: BrowserKind) -> Option<&str> {
        match kind.capabilities().remote_flag? {
            "--browser-ws" => self.browser_ws.as_deref(),
            "--webdriver-url" => self.webdriver_url.as_deref(),
            _ => None,
        }
    }

    /// The flags given, as the user typed them.
    fn given(&self) -> Vec<&'static str> {
        let mut v = vec![];
        if self.browser_ws.is_some() {
            v.push("--browser-ws");
        }
        if self.webdriver_url.is_some() {
            v.push("--webdriver-url");
        }
        v
    }
}

pub struct Engines {
    kinds: BTreeMap<String, BrowserKind>,
    scenario_timeout: Duration,
    remote: Remote,
    chromium: Option<PageMeasurer<Cdp>>,
    firefox: Option<PageMeasurer<Firefox>>,
    webkit: Option<PageMeasurer<WebKit>>,
    /// Environments prepared so far: the fingerprint names their browsers.
    prepared: BTreeSet<String>,
    /// Each engine's `--version`, once asked.
    versions: BTreeMap<&'static str, String>,
}

impl Engines {
    pub fn new(cfg: &Config, remote: Remote) -> Engines {
        Engines {
            kinds: cfg
                .environments
                .iter()
                .map(|(k, e)| (k.clone(), e.browser))
                .collect(),
            scenario_timeout: Duration::from_secs(cfg.protocol.scenario_timeout_s),
            remote,
            chromium: None,
            firefox: None,
            webkit: None,
            prepared: BTreeSet::new(),
            versions: BTreeMap::new(),
        }
    }

    fn kind(&self, env: &str) -> BrowserKind {
        self.kinds.get(env).copied().unwrap_or_default()
    }

    /// The started browser of `env`, if any.
    fn started(&self, env: &str) -> Option<&dyn Measurer> {
        match self.kind(env) {
            BrowserKind::Chromium => self.chromium.as_ref().map(|m| m as &dyn Measurer),
            BrowserKind::Firefox => self.firefox.as_ref().map(|m| m as &dyn Measurer),
            BrowserKind::Webkit => self.webkit.as_ref().map(|m| m as &dyn Measurer),
        }
    }

    /// The browser of `env`, started now if it is not yet.
    fn engine(&mut self, env: &str) -> Result<&mut dyn Measurer> {
        let kind = self.kind(env);
        let remote = self.remote.url(kind).map(String::from);
        let given = self.remote.given();
        if remote.is_none() && !given.is_empty() {
            bail!(
                "environment {env} is measured in {}, which the gate launches itself, but {} names a \
                 browser started elsewhere: leave {env} out with --env, or drop {}",
                kind.product(),
                given.join(" and "),
                given.join(" and ")
            );
        }
        let harness = self.remote.harness;
        Ok(match kind {
            BrowserKind::Chromium => {
                if self.chromium.is_none() {
                    self.chromium = Some(PageMeasurer::start(
                        Cdp::new(self.scenario_timeout, remote.as_deref())?,
                        harness,
                    )?);
                }
                self.chromium.as_mut().expect("just started")
            }
            BrowserKind::Firefox => {
                if self.firefox.is_none() {
                    self.firefox = Some(PageMeasurer::start(Firefox::new()?, harness)?);
                }
                self.firefox.as_mut().expect("just started")
            }
            BrowserKind::Webkit => {
                if self.webkit.is_none() {
                    let driver = match &remote {
                        Some(url) => WebKit::remote(url)?,
                        None => WebKit::local()?,
                    };
                    self.webkit = Some(PageMeasurer::start(driver, harness)?);
                }
                self.webkit.as_mut().expect("just started")
            }
        })
    }
}

impl Measurer for Engines {
    fn run_many(&mut self, runs: &[ScenarioRun]) -> Vec<Result<ScenarioOutput>> {
        let Some(first) = runs.first() else {
            return vec![];
        };
        if runs
            .iter()
            .any(|r| self.kind(&r.environment) != self.kind(&first.environment))
        {
            return crate::measure::all_failed(runs, &anyhow!("one round mixes browsers"));
        }
        match self.engine(&first.environment) {
            Ok(m) => m.run_many(runs),
            Err(e) => crate::measure::all_failed(runs, &e),
        }
    }

    fn timer_resolution_ms(&self, env: &str) -> Option<f64> {
        self.started(env)?.timer_resolution_ms(env)
    }

    fn prepare_environment(&mut self, env: &str, configured: &Environment) -> Result<EnvInfo> {
        let info = self.engine(env)?.prepare_environment(env, configured)?;
        self.prepared.insert(env.to_string());
        Ok(info)
    }

    fn fingerprint(&self, f: &mut Fingerprint) {
        if let Some(c) = &self.chromium {
            c.fingerprint(f);
        }
        for env in &self.prepared {
            if let Some(b) = self.env_browser(env) {
                f.environments.entry(env.clone()).or_default().browser = Some(b);
            }
        }
    }

    fn env_browser(&self, env: &str) -> Option<EnvBrowser> {
        self.started(env)?.env_browser(env)
    }

    /// The binary's `--version` (found, or installed, as for measuring);
    /// a browser started elsewhere is named by its address, so nothing
    /// measured there is ever taken for a local figure.
    fn browser_version(&mut self, env: &str) -> Result<String> {
        let kind = self.kind(env);
        if let Some(url) = self.remote.url(kind) {
            return Ok(format!("remote {url}"));
        }
        if let Some(v) = self.versions.get(kind.name()) {
            return Ok(v.clone());
        }
        let v = match kind {
            BrowserKind::Chromium => crate::browser::process::version(
                &crate::browser::process::find_or_install(&crate::browser::chromium::PROVISION)?,
            )?,
            BrowserKind::Firefox => crate::browser::process::version(
                &crate::browser::process::find_or_install(&crate::browser::firefox::PROVISION)?,
            )?,
            // WebKitWebDriver has no --version, and MiniBrowser needs a
            // display for one: the running browser says it.
            BrowserKind::Webkit => self.engine(env)?.browser_version(env)?,
        };
        self.versions.insert(kind.name(), v.clone());
        Ok(v)
    }

    fn describe(&self, env: &str) -> String {
        match self.started(env) {
            Some(m) => m.describe(env),
            None => format!("{} (not started)", self.kind(env).name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A remote address serves its own engine only: the environments of
    /// an engine the gate would launch are refused, before any browser
    /// starts, naming the flag.
    #[test]
    fn a_remote_address_refuses_the_other_engines_environments() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let cfg = crate::config::load(&root.join("budgets.toml")).unwrap();
        let mut e = Engines::new(
            &cfg,
            Remote {
                webdriver_url: Some("http://127.0.0.1:1".into()),
                ..Remote::default()
            },
        );
        for env in ["desktop", "firefox-desktop"] {
            let err = e
                .prepare_environment(env, &cfg.environments[env])
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("which the gate launches itself")
                    && err.contains("--webdriver-url names a browser started elsewhere"),
                "{err}"
            );
        }
        let r = Remote {
            browser_ws: Some("ws://h:1/devtools/browser/x".into()),
            ..Remote::default()
        };
        assert_eq!(r.url(BrowserKind::Chromium), r.browser_ws.as_deref());
        assert_eq!(r.url(BrowserKind::Webkit), None);
        assert_eq!(r.url(BrowserKind::Firefox), None);
    }
}
