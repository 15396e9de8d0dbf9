//! `cargo xtask calibrate`: how often does the timing gate cry wolf, and how
//! often does it catch a real slowdown? Measured, per metric key.
//!
//! It builds the subject once, then runs the measure stage (a fresh browser
//! each time) `--aa-runs` (default `--runs`) times A/A (the base is the
//! candidate's own artifact) and `--runs` times against an injected
//! slowdown: the subject's calibration feature (`[calibration]` in
//! budgets.toml) adds busy work to the code the calibration metric times,
//! sized on this host by uncounted sizing runs (below) so that it slows the
//! metric's gated statistic by `--inject-pct` percent. It prints, per key, the false-regression rate
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
    /// A relative metric (percent of a reference build): its spread is
    /// told in points, since max/min of a figure near zero says nothing.
    #[serde(skip)]
    points: bool,
}

impl Tally {
    fn add(&mut self, m: &Measured, key: &str, relative: bool) {
        let Some(r) = m.results.get(key) else { return };
        self.points = relative;
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
            (Some(a), Some(b)) if self.points => format!(", values {a:.2} to {b:.2} ({:.2} points)", b - a),
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
    let mut aa_runs: Option<u32> = None;
    let (mut profiles, mut envs, mut only) = (Vec::new(), Vec::new(), Vec::<String>::new());
    let mut a = Args::new("calibrate", args);
    while let Some(arg) = a.next_arg() {
        match arg {
            Arg::Flag("--budgets") => budgets = Some(PathBuf::from(a.value("--budgets")?)),
            Arg::Flag("--reports") => out_dir = Some(PathBuf::from(a.value("--reports")?)),
            Arg::Flag("--runs") => runs = a.parsed("--runs", "a count")?,
            Arg::Flag("--aa-runs") => aa_runs = Some(a.parsed("--aa-runs", "a count")?),
            Arg::Flag("--inject-pct") => pct = a.parsed("--inject-pct", "a number")?,
            Arg::Flag("--profile") => profiles.push(a.value("--profile")?),
            Arg::Flag("--env") => envs.push(a.value("--env")?),
            Arg::Flag("--metric") => only.push(a.value("--metric")?),
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
    let out_dir = out_dir.unwrap_or_else(|| super::args::default_reports(&budgets).join("calibration"));
    // An unknown --profile or --env is an error naming the valid ones, as in
    // `budget`, never a selection of nothing.
    let profiles = super::args::select(&cfg.profiles.iter().map(|p| p.name.clone()).collect::<Vec<_>>(), &profiles, "profile")?;
    let envs = super::args::select(&cfg.environments.keys().cloned().collect::<Vec<_>>(), &envs, "environment")?;
    if let Some(id) = only.iter().find(|id| !cfg.metrics.iter().any(|m| &m.id == *id)) {
        bail!("--metric {id}: {} defines no such metric", budgets.display());
    }
    let metrics: Vec<&MetricSpec> = cfg
        .metrics
        .iter()
        .filter(|m| matches!(m.source, Source::Scenario(_)) && envs.contains(&m.environment))
        .filter(|m| only.is_empty() || only.contains(&m.id))
        .collect();
    if !metrics.iter().any(|m| m.id == cal.metric) {
        bail!("the calibration metric {} is not among the selected metrics in the selected environments ({}); the injected busy work slows that metric and is sized on its measured ratio; add it with --metric", cal.metric, envs.join(", "));
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

    let keys: Vec<(String, bool)> = plan
        .iter()
        .map(|t| (crate::ledger::key(&t.metric.id, &t.profile, &t.metric.environment), t.metric.is_relative()))
        .collect();
    // `runs` fresh-browser measurements of `arts` against `base`, tallied
    // per key; `seen` sees each run's figures.
    let aa_runs = aa_runs.unwrap_or(runs).max(1);
    let tally = |label: &str, runs: u32, arts: &[ProfileArtifacts], base: &Base, seen: &mut dyn FnMut(&Measured)| -> Result<BTreeMap<String, Tally>> {
        let mut t: BTreeMap<String, Tally> = BTreeMap::new();
        for i in 0..runs {
            eprintln!("calibrate: {label} run {} of {runs}", i + 1);
            let m = measure_once(arts, base)?;
            for (k, relative) in &keys {
                t.entry(k.clone()).or_default().add(&m, k, *relative);
                if let Some(c) = m.results.get(k).and_then(|r| r.comparison.as_ref()) {
                    let est = c.estimate.as_ref().map(|e| format!("{:.3} [{:.3}, {:.3}]", e.point, e.lo, e.hi)).unwrap_or_default();
                    eprintln!("calibrate: {label} run {}: {k} {est} {}", i + 1, c.verdict.as_str());
                }
            }
            seen(&m);
        }
        Ok(t)
    };
    let metric = cfg.metrics.iter().find(|x| x.id == cal.metric).ok_or_else(|| anyhow!("no metric {}", cal.metric))?;
    let mut aa_values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let aa = tally("A/A", aa_runs, &arts, &own_base, &mut |m| {
        for p in &profiles {
            if let Some(r) = m.get(&metric.id, p, &metric.environment) {
                aa_values.entry(p.clone()).or_default().push(r.value);
            }
        }
    })?;
    // The first guess of the busy work: pct % of the metric's typical A/A
    // value (the median over the A/A runs; the value moves with the host's
    // state from run to run), at budgets.toml's steps_per_us.
    let mut inject_us: BTreeMap<String, f64> = BTreeMap::new();
    for p in &profiles {
        let typical = aa_values.get(p).and_then(|v| crate::stats::median(v)).ok_or_else(|| anyhow!("no A/A value of {} for {p}", cal.metric))?;
        inject_us.insert(p.clone(), typical * 1000.0 * pct / 100.0);
    }

    // The injected candidate: the same profiles plus the calibration
    // feature, slowing the metric's gated statistic by pct %. The busy work
    // cannot simply be sized in microseconds: `steps_per_us` in budgets.toml
    // is a first guess (a step's cost depends on the CPU and the engine; cold
    // init runs it in freshly compiled baseline code), and the added time
    // is not the added p95 (here 127 015 steps added 145 us at the median
    // and read x1.18-x1.29 on the p95, about 270 us). So sizing runs
    // (uncounted) measure the injected builds against the plain ones and
    // read the comparison's own ratio; a build whose ratio is more than
    // SIZE_TOLERANCE off 1 + pct/100 is rebuilt with its steps scaled by
    // intended/achieved excess and measured again. The difference of the
    // two arms' medians is printed beside it, as the steps' real rate.
    let plain_base = Base::of(&arts, "the uninjected build");
    let build_slow = |name: &str, steps: u64| -> Result<ProfileArtifacts> {
        let mut p = cfg.profile(name).ok_or_else(|| anyhow!("unknown profile {name}"))?.clone();
        p.features.push(cal.feature.clone());
        p.build_env.push((cal.env.clone(), steps.to_string()));
        p.name = format!("calibrate~{name}");
        crate::subject::profile_artifacts(&cfg, &p, name, &metrics, &out_dir.join("injected"), None)
    };
    let mut steps: BTreeMap<String, u64> = profiles.iter().map(|p| (p.clone(), (inject_us[p] * cal.steps_per_us).round() as u64)).collect();
    let mut sizing = Vec::new();
    let mut slow = Vec::new();
    for attempt in 1..=MAX_SIZING_RUNS {
        slow = profiles.iter().map(|p| build_slow(p, steps[p])).collect::<Result<Vec<_>>>()?;
        eprintln!("calibrate: sizing run {attempt} (not counted)");
        let m = measure_once(&slow, &plain_base)?;
        let mut resized = false;
        for p in &profiles {
            let r = m.get(&metric.id, p, &metric.environment).ok_or_else(|| anyhow!("the sizing run has no {} for {p}", cal.metric))?;
            let added_us = added_at_median(r)? * 1000.0;
            let est = r.comparison.as_ref().and_then(|c| c.estimate).ok_or_else(|| anyhow!("the sizing run has no comparison of {} for {p}", cal.metric))?;
            let achieved_pct = (est.point - 1.0) * 100.0;
            let now = steps[p];
            eprintln!(
                "calibrate: [{p}] {now} steps: x{:.3} [{:.3}, {:.3}] on the gated statistic (intended x{:.3}); {added_us:.0} us added at the median ({:.0} steps/us here)",
                est.point,
                est.lo,
                est.hi,
                1.0 + pct / 100.0,
                now as f64 / added_us.max(f64::MIN_POSITIVE),
            );
            sizing.push(serde_json::json!({"profile": p, "attempt": attempt, "steps": now, "intended_pct": pct, "achieved_pct": achieved_pct, "ratio": est, "added_us_at_median": added_us}));
            if let Some(next) = resize_steps(pct, now, achieved_pct, added_us)? {
                if attempt < MAX_SIZING_RUNS {
                    eprintln!("calibrate: [{p}] resizing to {next} steps");
                    steps.insert(p.clone(), next);
                    resized = true;
                } else {
                    eprintln!("calibrate: [{p}] still off after {MAX_SIZING_RUNS} sizing runs; the counted runs' ratios below say what was detected");
                }
            }
        }
        if !resized {
            break;
        }
    }
    let det = tally("injected", runs, &slow, &plain_base, &mut |_| {})?;

    println!("\ncalibration: {aa_runs} A/A runs and {runs} runs with +{pct} % busy work (sized on this host) in the code {} times\n", cal.metric);
    for p in &profiles {
        if let Some(last) = sizing.iter().rev().find(|s| s["profile"] == p.as_str()) {
            println!(
                "[{p}] injected {} steps: intended +{pct} % on the gated statistic, the last sizing run read {:+.1} % ({:.0} us added at the median)",
                last["steps"], last["achieved_pct"].as_f64().unwrap_or(f64::NAN), last["added_us_at_median"].as_f64().unwrap_or(f64::NAN)
            );
        }
    }
    println!();
    println!("{:<44} {:<48} injected (detections)", "key", "A/A (false regressions)");
    for (k, _) in &keys {
        let a = aa.get(k).map(Tally::text).unwrap_or_default();
        let d = det.get(k).map(Tally::text).unwrap_or_default();
        println!("{k:<44} {a:<48} {d}");
    }
    let json = serde_json::json!({
        "runs": runs, "aa_runs": aa_runs, "inject_pct": pct, "first_guess_us": inject_us, "inject_steps": steps, "sizing": sizing, "calibration_metric": cal.metric,
        "aa": aa, "injected": det,
    });
    let path = out_dir.join("calibration.json");
    write_atomic(&path, serde_json::to_string_pretty(&json)?.as_bytes())?;
    eprintln!("calibrate: wrote {}", path.display());
    Ok(0)
}

/// How far (relative) the injected slowdown may sit from `--inject-pct`
/// before calibrate rebuilds it: one run's ratio has a standard deviation
/// of about 2.5 points here, so a tighter tolerance would chase noise.
const SIZE_TOLERANCE: f64 = 0.15;
const MAX_SIZING_RUNS: u32 = 3;

/// The time the injected build adds, in the metric's unit: the median of
/// all its samples minus the median of the plain build's, both measured in
/// the same session.
fn added_at_median(r: &crate::measure::MetricResult) -> Result<f64> {
    let base = r.base_histogram.as_ref().ok_or_else(|| anyhow!("the sizing run measured no live base"))?;
    let q = |b| -> Result<f64> { Ok(crate::stats::statistic_of(&crate::stats::decode(b)?, crate::stats::Statistic::Median)) };
    Ok(q(&r.histogram)? - q(base)?)
}

/// The step count that slows the statistic by `target_pct`, when `steps`
/// slowed it by `achieved_pct` (the extra time taken as proportional to the
/// steps): `None` while within SIZE_TOLERANCE; the scale is held to 1/4..4
/// per run (a ratio lost in noise would otherwise ask for a huge build). An
/// error when the steps added no time at the median (`added_us`): the
/// feature does nothing, or not in the code the metric times.
fn resize_steps(target_pct: f64, steps: u64, achieved_pct: f64, added_us: f64) -> Result<Option<u64>> {
    if !(added_us > 0.0) || steps == 0 {
        bail!(
            "the injected build added {added_us:.1} us at the median with {steps} steps: the calibration feature does not slow the code the metric times (check [calibration] in budgets.toml)"
        );
    }
    if !achieved_pct.is_finite() {
        bail!("the sizing run's ratio is not a number");
    }
    if (achieved_pct / target_pct - 1.0).abs() <= SIZE_TOLERANCE {
        return Ok(None);
    }
    let scale = if achieved_pct > 0.0 { (target_pct / achieved_pct).clamp(0.25, 4.0) } else { 4.0 };
    Ok(Some(((steps as f64) * scale).round().max(1.0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_work_is_resized_by_the_achieved_slowdown_only_when_off() {
        // 127 015 steps meant +15 % and read +23 %: scaled down to 82 836.
        assert_eq!(resize_steps(15.0, 127_015, 23.0, 145.0).unwrap(), Some(82_836));
        // Too little is scaled up the same way.
        assert_eq!(resize_steps(15.0, 62_000, 10.0, 70.0).unwrap(), Some(93_000));
        // Within 15 % of the intended slowdown (12.75-17.25 %): kept.
        assert_eq!(resize_steps(15.0, 80_000, 13.0, 90.0).unwrap(), None);
        assert_eq!(resize_steps(15.0, 80_000, 17.0, 90.0).unwrap(), None);
        // A ratio lost in noise (or below 1) grows the work at most 4x.
        assert_eq!(resize_steps(15.0, 1_000, 0.5, 2.0).unwrap(), Some(4_000));
        assert_eq!(resize_steps(15.0, 1_000, -1.0, 2.0).unwrap(), Some(4_000));
        // Steps that add nothing are a broken calibration feature, not a size.
        assert!(resize_steps(15.0, 62_000, 12.0, 0.0).is_err());
        assert!(resize_steps(15.0, 62_000, 12.0, -3.0).is_err());
        assert!(resize_steps(15.0, 62_000, 12.0, f64::NAN).is_err());
        assert!(resize_steps(15.0, 62_000, f64::NAN, 70.0).is_err());
    }
}
