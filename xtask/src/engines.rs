//! The run's real [`Measurer`]: each environment is measured in the browser
//! budgets.toml names for it (`browser = "chromium" | "firefox"`). Each
//! browser starts on first use, so a run of Chromium environments never
//! needs Firefox, and the other way round.

use crate::browser::chromium::Cdp;
use crate::browser::firefox::Firefox;
use crate::browser::PageMeasurer;
use crate::config::{BrowserKind, Config, Environment};
use crate::measure::{EnvInfo, Measurer, ScenarioOutput, ScenarioRun};
use crate::summary::{EnvBrowser, Fingerprint};
use anyhow::{anyhow, bail, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub struct Engines {
    kinds: BTreeMap<String, BrowserKind>,
    scenario_timeout: Duration,
    /// `--browser-ws`: a Chromium started elsewhere.
    remote: Option<String>,
    /// `--harness-addr`.
    harness: Option<std::net::IpAddr>,
    chromium: Option<PageMeasurer<Cdp>>,
    firefox: Option<PageMeasurer<Firefox>>,
    /// Environments prepared so far: the fingerprint names their browsers.
    prepared: BTreeSet<String>,
    /// Each engine's `--version`, once asked.
    versions: BTreeMap<&'static str, String>,
}

impl Engines {
    pub fn new(cfg: &Config, remote: Option<&str>, harness: Option<std::net::IpAddr>) -> Engines {
        Engines {
            kinds: cfg
                .environments
                .iter()
                .map(|(k, e)| (k.clone(), e.browser))
                .collect(),
            scenario_timeout: Duration::from_secs(cfg.protocol.scenario_timeout_s),
            remote: remote.map(String::from),
            harness,
            chromium: None,
            firefox: None,
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
        }
    }

    /// The browser of `env`, started now if it is not yet.
    fn engine(&mut self, env: &str) -> Result<&mut dyn Measurer> {
        Ok(match self.kind(env) {
            BrowserKind::Chromium => {
                if self.chromium.is_none() {
                    self.chromium = Some(PageMeasurer::start(
                        Cdp::new(self.scenario_timeout, self.remote.as_deref())?,
                        self.harness,
                    )?);
                }
                self.chromium.as_mut().expect("just started")
            }
            BrowserKind::Firefox => {
                if self.remote.is_some() {
                    bail!(
                        "environment {env} is measured in Firefox, which the gate launches itself, but --browser-ws names a \
                         Chromium started elsewhere: leave {env} out with --env, or drop --browser-ws"
                    );
                }
                if self.firefox.is_none() {
                    self.firefox = Some(PageMeasurer::start(Firefox::new()?, self.harness)?);
                }
                self.firefox.as_mut().expect("just started")
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
        if let (BrowserKind::Chromium, Some(url)) = (kind, &self.remote) {
            return Ok(format!("remote {url}"));
        }
        if let Some(v) = self.versions.get(kind.name()) {
            return Ok(v.clone());
        }
        let exe = crate::browser::process::find_or_install(match kind {
            BrowserKind::Chromium => &crate::browser::chromium::PROVISION,
            BrowserKind::Firefox => &crate::browser::firefox::PROVISION,
        })?;
        let v = crate::browser::process::version(&exe)?;
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
