//! A measurer without a browser: samples spread evenly around a fixed
//! centre per scenario, for the tests of everything after measurement.

use super::{EnvInfo, Measurer, Quantity, ScenarioOutput, ScenarioRun};
use crate::stats;
use anyhow::Result;

/// Fixed samples instead of a browser: the seam that lets the whole pipeline
/// (gate, ledger, reports, merge) run in tests on known numbers. Each
/// block's samples are a deterministic spread (+-10 %) around a centre that
/// depends on the scenario, times `slowdown` for modules whose path contains
/// `slow_marker` (an injected regression).
pub struct FixedMeasurer {
    pub slow_marker: Option<String>,
    pub slowdown: f64,
    pub calls: u64,
}

impl FixedMeasurer {
    pub fn new() -> FixedMeasurer {
        FixedMeasurer {
            slow_marker: None,
            slowdown: 1.0,
            calls: 0,
        }
    }
}

impl Default for FixedMeasurer {
    fn default() -> Self {
        Self::new()
    }
}

impl Measurer for FixedMeasurer {
    fn run_many(&mut self, runs: &[ScenarioRun]) -> Vec<Result<ScenarioOutput>> {
        runs.iter().map(|r| self.one(r)).collect()
    }

    fn timer_resolution_ms(&self, _env: &str) -> Option<f64> {
        Some(0.005)
    }
    fn prepare_environment(
        &mut self,
        _env: &str,
        configured: &crate::config::Environment,
    ) -> Result<EnvInfo> {
        Ok(EnvInfo {
            rate: configured.cpu_throttle,
            achieved: (configured.cpu_throttle > 1.0).then_some(configured.cpu_throttle),
        })
    }
    fn describe(&self, _env: &str) -> String {
        "fixed samples (no browser)".into()
    }
    /// The slowdown is part of what it would measure.
    fn browser_version(&mut self, _env: &str) -> Result<String> {
        Ok(format!(
            "fixed samples (no browser), {:?} x{}",
            self.slow_marker, self.slowdown
        ))
    }
    fn fingerprint(&self, f: &mut crate::summary::Fingerprint) {
        f.chromium = "fixed samples (no browser)".into();
        f.timer_resolution_us = Some(5.0);
        f.cross_origin_isolated = Some(true);
    }
}

impl FixedMeasurer {
    /// One run's samples, spread evenly around the scenario's centre.
    fn one(&mut self, r: &ScenarioRun) -> Result<ScenarioOutput> {
        self.calls += 1;
        let centre = match r.quantity {
            Quantity::Bytes => 2.0 * 1024.0 * 1024.0,
            _ => match r.scenario.as_str() {
                "cold-init" | "builtin:cold-init" => 1.5,
                _ => 0.0005,
            },
        };
        let mut rng = stats::SplitMix::new(r.seed ^ self.calls.wrapping_mul(0x9E37_79B9));
        let mut side = |wasm: &std::path::Path| {
            let slow = self
                .slow_marker
                .as_ref()
                .is_some_and(|m| wasm.display().to_string().contains(m.as_str()));
            let centre = centre * if slow { self.slowdown } else { 1.0 };
            let samples: Vec<f64> = (0..r.iterations)
                .map(|_| centre * (0.9 + 0.2 * (rng.next_u64() % 10_000) as f64 / 10_000.0))
                .collect();
            let batched = r.quantity == Quantity::TimeMs && centre < 0.1;
            let ops_per_sample = if batched { 512 } else { 1 };
            // The windows the samples stand for: each sample times its batch.
            let window_ms = if r.quantity == Quantity::TimeMs {
                samples.iter().sum::<f64>() * ops_per_sample as f64
            } else {
                0.0
            };
            ScenarioOutput {
                quantity: r.quantity,
                samples,
                ops_per_sample,
                window_ms,
                note: format!("fixed samples around {centre}"),
                parts: vec![],
                pair: None,
                host_ms: None,
            }
        };
        let mut out = side(&r.wasm);
        out.pair = r.pair.as_ref().map(|p| Box::new(side(&p.wasm)));
        Ok(out)
    }
}
