//! `cargo xtask calibrate`: how often does the timing gate cry wolf, and how
//! often does it catch a real slowdown? Measured, per metric key.
//!
//! It builds the subject once, then runs the measure stage (a fresh browser
//! each time) `--runs` times A/A (the base is the candidate's own artifact)
//! and `--runs` times against an injected slowdown: the subject's
//! calibration feature (`[calibration]` in budgets.toml) adds busy work of
//! `--inject-pct` percent of the A/A value of the calibration metric to the
//! code that metric times. It prints, per key, the false-regression rate
//! (A/A runs judged "regressed") and the detection rate (injected runs
//! judged "regressed"), and writes `calibration.json`.

use crate::artifacts::{Base, ProfileArtifacts};
use super::args::{Arg, Args};
use crate::config::{self, MetricSpec, Source};
use crate::measure::{self, Measured};
use crate::stats::AbVerdict;
use crate::util::{find_budgets, write_atomic};
use anyhow::{anyhow, bail, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Default, serde::Serialize)]
struct Tally {
    runs: u32,
    regressed: u32,
    inconclusive: u32,
    /// The point estimates of the ratio (or difference) per run.
    estimates: Vec<f64>,
    /// The candidate's gate value per run (its run-to-run spread).
    values: Vec<f64>,
}

impl Tally {
    fn add(&mut self, m: &Measured, key: &str) {
        let Some(r) = m.results.get(key) else { return };
        self.values.push(r.value);
        let Some(c) = r.comparison.as_ref() else { return };
        self.runs += 1;
        self.regressed += (c.verdict == AbVerdict::Regressed) as u32;
        self.inconclusive += (c.verdict == AbVerdict::Inconclusive) as u32;
        if let Some(e) = &c.estimate {
            self.estimates.push(e.point);
        }
    }
    fn text(&self) -> String {
        let range = match (self.estimates.iter().cloned().reduce(f64::min), self.estimates.iter().cloned().reduce(f64::max)) {
            (Some(a), Some(b)) => format!(" (estimates {a:.3} to {b:.3})"),
            _ => String::new(),
        };
        let spread = match (self.values.iter().cloned().reduce(f64::min), self.values.iter().cloned().reduce(f64::max)) {
            (Some(a), Some(b)) if a > 0.0 => format!(", values max/min {:.3}", b / a),
            _ => String::new(),
        };
        format!("{}/{} regressed, {} inconclusive{range}{spread}", self.regressed, self.runs, self.inconclusive)
    }
}

pub fn cli(args: &[String]) -> Result<u8> {
    let mut budgets = None;
    let mut out_dir: Option<PathBuf> = None;
    let (mut runs, mut pct) = (5u32, 15.0f64);
    let (mut profiles, mut envs) = (Vec::new(), Vec::new());
    let mut a = Args::new("calibrate", args);
    while let Some(arg) = a.next_arg() {
        match arg {
            Arg::Flag("--budgets") => budgets = Some(PathBuf::from(a.value("--budgets")?)),
            Arg::Flag("--reports") => out_dir = Some(PathBuf::from(a.value("--reports")?)),
            Arg::Flag("--runs") => runs = a.parsed("--runs", "a count")?,
            Arg::Flag("--inject-pct") => pct = a.parsed("--inject-pct", "a number")?,
            Arg::Flag("--profile") => profiles.push(a.value("--profile")?),
            Arg::Flag("--env") => envs.push(a.value("--env")?),
            Arg::Flag(f) => return Err(a.unknown(f)),
            Arg::Positional(p) => return Err(a.unexpected(p)),
        }
    }
    let budgets = match budgets {
        Some(b) => b,
        None => find_budgets()?,
    };
    let mut cfg = config::load(&budgets)?;
    crate::build::prepare_toolchain(&mut cfg)?;
    let cfg = cfg;
    let cal = cfg.calibration.clone().ok_or_else(|| {
        anyhow!("{} has no [calibration] section: name the subject's feature that injects busy work, its build-time variable and the metric it slows", budgets.display())
    })?;
    let out_dir = out_dir.unwrap_or_else(|| cfg.root.join("reports").join("calibration"));
    let all_profiles: Vec<String> = cfg.profiles.iter().map(|p| p.name.clone()).collect();
    let profiles = if profiles.is_empty() { all_profiles } else { profiles };
    let envs = if envs.is_empty() { cfg.environments.keys().cloned().collect() } else { envs };
    let metrics: Vec<&MetricSpec> = cfg.metrics.iter().filter(|m| matches!(m.source, Source::Scenario(_)) && envs.contains(&m.environment)).collect();
    if !metrics.iter().any(|m| m.id == cal.metric) {
        bail!("the calibration metric {} is not measured in the selected environments ({})", cal.metric, envs.join(", "));
    }
    cfg.check_scenarios(&metrics)?;
    let mut arts = Vec::new();
    for name in &profiles {
        let p = cfg.profile(name).ok_or_else(|| anyhow!("unknown profile {name}"))?;
        arts.push(crate::subject::profile_artifacts(&cfg, p, name, &metrics, &out_dir, None)?);
    }
    let plan = measure::plan(&cfg, &metrics, &profiles, false);
    let own_base = Base::of(&arts, "A/A: the candidate's own artifact");
    let measure_once = |arts: &[ProfileArtifacts], base: &Base| -> Result<Measured> {
        let mut m = crate::engines::Engines::new(&cfg, None, None);
        measure::run(&cfg, &plan, arts, Some(base), &mut m, measure::RunOptions::default())
    };

    let keys: Vec<String> = plan.iter().map(|t| crate::ledger::key(&t.metric.id, &t.profile, &t.metric.environment)).collect();
    // `runs` fresh-browser measurements of `arts` against `base`, tallied
    // per key; `seen` sees each run's figures.
    let tally = |label: &str, arts: &[ProfileArtifacts], base: &Base, seen: &mut dyn FnMut(&Measured)| -> Result<BTreeMap<String, Tally>> {
        let mut t: BTreeMap<String, Tally> = BTreeMap::new();
        for i in 0..runs {
            eprintln!("calibrate: {label} run {} of {runs}", i + 1);
            let m = measure_once(arts, base)?;
            for k in &keys {
                t.entry(k.clone()).or_default().add(&m, k);
            }
            seen(&m);
        }
        Ok(t)
    };
    let mut inject_us: BTreeMap<String, f64> = BTreeMap::new();
    let aa = tally("A/A", &arts, &own_base, &mut |m| {
        for p in &profiles {
            if let Some(r) = cfg.metrics.iter().find(|x| x.id == cal.metric).and_then(|x| m.get(&x.id, p, &x.environment)) {
                inject_us.entry(p.clone()).or_insert(r.value * 1000.0 * pct / 100.0);
            }
        }
    })?;

    // The injected candidate: the same profiles plus the calibration
    // feature, with the busy work sized from the first A/A run.
    let mut slow = Vec::new();
    for a in &arts {
        let name = &a.info.profile;
        let mut p = cfg.profile(name).ok_or_else(|| anyhow!("unknown profile {name}"))?.clone();
        let us = inject_us.get(name).copied().ok_or_else(|| anyhow!("no A/A value of {} for {name}", cal.metric))?;
        p.features.push(cal.feature.clone());
        p.build_env.push((cal.env.clone(), format!("{:.0}", us * cal.steps_per_us)));
        p.name = format!("calibrate~{name}");
        eprintln!("calibrate: [{name}] injecting {us:.0} us ({pct} % of the A/A {} value) with feature {}", cal.metric, cal.feature);
        slow.push(crate::subject::profile_artifacts(&cfg, &p, name, &metrics, &out_dir.join("injected"), None)?);
    }
    let plain_base = Base::of(&arts, "the uninjected build");
    let det = tally("injected", &slow, &plain_base, &mut |_| {})?;

    println!("\ncalibration: {runs} A/A runs and {runs} runs with +{pct} % busy work in the code {} times\n", cal.metric);
    println!("{:<44} {:<48} {}", "key", "A/A (false regressions)", "injected (detections)");
    for k in &keys {
        let a = aa.get(k).map(Tally::text).unwrap_or_default();
        let d = det.get(k).map(Tally::text).unwrap_or_default();
        println!("{k:<44} {a:<48} {d}");
    }
    let json = serde_json::json!({
        "runs": runs, "inject_pct": pct, "inject_us": inject_us, "calibration_metric": cal.metric,
        "aa": aa, "injected": det,
    });
    let path = out_dir.join("calibration.json");
    write_atomic(&path, serde_json::to_string_pretty(&json)?.as_bytes())?;
    eprintln!("calibrate: wrote {}", path.display());
    Ok(0)
}
