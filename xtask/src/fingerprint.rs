//! The environment fingerprint of a run (README, "What each output file means"): which
//! compiler, optimizer, host and browser produced the figures, and how each
//! environment was set up (throttle target, calibrated rate, achieved
//! slowdown, V8 flags, the host's speed while it measured). The browser
//! half comes from the measurer.

use crate::config::Config;
use crate::measure::Measured;
use crate::summary::Fingerprint;

/// What this machine and toolchain are, before any browser runs.
pub fn of_host(cfg: &Config) -> Fingerprint {
    Fingerprint {
        rustc: cfg
            .toolchain
            .as_ref()
            .map(|t| t.rustc.clone())
            .unwrap_or_else(|| "unknown".into()),
        binaryen: crate::optimize::binaryen_version().into(),
        host: host_name(),
        cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        ..Default::default()
    }
}

/// Record how each measured environment was set up.
pub fn add_environments(f: &mut Fingerprint, cfg: &Config, envs: &[String], measured: &Measured) {
    for (name, env) in &cfg.environments {
        if !envs.contains(name) {
            continue;
        }
        let e = f.environments.entry(name.clone()).or_default();
        e.throttle = env.cpu_throttle;
        e.js_flags = env.js_flags.clone();
        if let Some(info) = measured.envs.get(name) {
            e.throttle_rate = Some(info.rate);
            e.throttle_achieved = info.achieved;
        }
        e.host_speed = measured
            .host_ms
            .get(name)
            .and_then(|v| crate::summary::HostSpeed::of(v));
    }
}

fn host_name() -> String {
    let name = std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    format!(
        "{} {} {}",
        name,
        std::env::consts::OS,
        std::env::consts::ARCH
    )
    .trim()
    .to_string()
}
