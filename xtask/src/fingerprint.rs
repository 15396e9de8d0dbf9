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
        rustc: cfg.toolchain.as_ref().map(|t| t.rustc.clone()).unwrap_or_else(|| "unknown".into()),
        binaryen: crate::optimize::binaryen_version().into(),
        host: host_name(),
        cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        ..Default::default()
    }
}

/// Record how each measured environment was set up.
pub fn add_environments(f: &mut Fingerprint, cfg: &Config, envs: &[String], measured: &Measured) {
    for (name, env) in &cfg.environments {
        if !envs.contains(name) {
            continue;
        }
        f.throttle.insert(name.clone(), env.cpu_throttle);
        if !env.js_flags.is_empty() {
            f.js_flags.insert(name.clone(), env.js_flags.clone());
        }
        if let Some(info) = measured.envs.get(name) {
            f.throttle_rate.insert(name.clone(), info.rate);
            if let Some(a) = info.achieved {
                f.throttle_achieved.insert(name.clone(), a);
            }
        }
        if let Some(h) = measured.host_ms.get(name).and_then(|v| crate::summary::HostSpeed::of(v)) {
            f.host_speed.insert(name.clone(), h);
        }
    }
}

fn host_name() -> String {
    let name = std::fs::read_to_string("/etc/hostname").map(|s| s.trim().to_string()).unwrap_or_default();
    format!("{} {} {}", name, std::env::consts::OS, std::env::consts::ARCH).trim().to_string()
}
