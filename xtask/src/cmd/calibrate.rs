//! `cargo xtask calibrate`: how often does the timing gate cry wolf, and how
//! often does it catch a real slowdown? Measured, per metric key.
//!
//! It builds the subject once, then runs the measure stage (a fresh browser
//! each time) `--aa-runs` (default `--runs`) times A/A (the base is the
//! candidate's own artifact) and `--runs` times an injected slowdown: the
//! subject's calibration feature (`[calibration]` in budgets.toml) adds
//! busy work to the code the calibration metric times, sized on this host
//! by uncounted sizing runs (below) so that it slows the metric's gated
//! statistic by `--inject-pct` percent, measured against the same feature
//! at 0 steps (so the builds differ in the step count alone). It prints,
//! per key, the false-regression rate
//! (A/A runs judged "regressed") and the detection rate (injected runs
//! judged "regressed"), and writes `calibration.json`.

use super::args::{Arg, Args};
use crate::artifacts::{Base, ProfileArtifacts};
use crate::config::{self, Config, MetricSpec, Source};
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
        let Some(c) = r.comparison.as_ref() else {
            return;
        };
        self.runs += 1;
        self.regressed += (c.verdict == AbVerdict::Regressed) as u32;
        self.inconclusive += (c.verdict == AbVerdict::Inconclusive) as u32;
        if let Some(e) = &c.estimate {
            self.estimates.push(e.point);
        }
    }
    fn text(&self) -> String {
        let range = match (
            self.estimates.iter().cloned().reduce(f64::min),
            self.estimates.iter().cloned().reduce(f64::max),
        ) {
            (Some(a), Some(b)) => format!(" (estimates {a:.3} to {b:.3})"),
            _ => String::new(),
        };
        let spread = match (
            self.values.iter().cloned().reduce(f64::min),
            self.values.iter().cloned().reduce(f64::max),
        ) {
            (Some(a), Some(b)) if self.points => {
                format!(", values {a:.2} to {b:.2} ({:.2} points)", b - a)
            }
            (Some(a), Some(b)) if a > 0.0 => format!(", values max/min {:.3}", b / a),
            _ => String::new(),
        };
        format!(
            "{}/{} regressed, {} inconclusive{range}{spread}",
            self.regressed, self.runs, self.inconclusive
        )
    }
}

/// Command-line options of `calibrate`.
struct Options {
    budgets: PathBuf,
    out_dir: Option<PathBuf>,
    /// Counted runs with the injected slowdown.
    runs: u32,
    /// Counted A/A runs (default: `runs`).
    aa_runs: u32,
    /// The slowdown to inject, in percent of the gated statistic.
    pct: f64,
    profiles: Vec<String>,
    envs: Vec<String>,
    metrics: Vec<String>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let (mut budgets, mut out_dir, mut runs, mut aa_runs, mut pct) =
            (None, None, 5u32, None, 15.0f64);
        let (mut profiles, mut envs, mut metrics) = (Vec::new(), Vec::new(), Vec::new());
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
                Arg::Flag("--metric") => metrics.push(a.value("--metric")?),
                Arg::Flag(f) => return Err(a.unknown(f)),
                Arg::Positional(p) => return Err(a.unexpected(p)),
            }
        }
        let budgets = match budgets {
            Some(b) => b,
            None => find_budgets()?,
        };
        Ok(Options {
            budgets,
            out_dir,
            runs,
            aa_runs: aa_runs.unwrap_or(runs).max(1),
            pct,
            profiles,
            envs,
            metrics,
        })
    }
}

/// What every measurement of one calibration shares: the configuration,
/// the selection, the plan and its keys.
struct Calibrator<'a> {
    cfg: &'a Config,
    cal: config::Calibration,
    profiles: Vec<String>,
    metrics: Vec<&'a MetricSpec>,
    plan: Vec<measure::Task>,
    /// Every planned key, and whether its metric is relative.
    keys: Vec<(String, bool)>,
    out_dir: PathBuf,
}

impl<'a> Calibrator<'a> {
    /// The selection of `o` in `cfg`. An unknown --profile, --env or
    /// --metric is an error naming the valid ones, as in `budget`, never a
    /// selection of nothing.
    fn new(cfg: &'a Config, o: &Options) -> Result<Calibrator<'a>> {
        let budgets = &o.budgets;
        let all = cfg.calibration.clone().ok_or_else(|| {
            anyhow!("{} has no [calibration] section: name the subject's feature that injects busy work, its build-time variable and the metric it slows", budgets.display())
        })?;
        let profiles = super::args::select(
            &cfg.profiles
                .iter()
                .map(|p| p.name.clone())
                .collect::<Vec<_>>(),
            &o.profiles,
            "profile",
        )?;
        let envs = super::args::select(
            &cfg.environments.keys().cloned().collect::<Vec<_>>(),
            &o.envs,
            "environment",
        )?;
        if let Some(id) = o
            .metrics
            .iter()
            .find(|id| !cfg.metrics.iter().any(|m| &m.id == *id))
        {
            bail!(
                "--metric {id}: {} defines no such metric",
                budgets.display()
            );
        }
        // The metric whose path gets the busy work: the first --metric that
        // has an injection, else the default one.
        let cal = match o.metrics.iter().find_map(|id| all.for_metric(id)) {
            Some(c) => c,
            None if o.metrics.is_empty() => all.clone(),
            None => bail!(
                "no injection slows {}: [calibration] in {} injects into {}",
                o.metrics.join(", "),
                budgets.display(),
                all.injected().join(", ")
            ),
        };
        let metrics: Vec<&MetricSpec> = cfg
            .metrics
            .iter()
            .filter(|m| matches!(m.source, Source::Scenario(_)) && envs.contains(&m.environment))
            .filter(|m| o.metrics.is_empty() || o.metrics.contains(&m.id))
            .collect();
        if !metrics.iter().any(|m| m.id == cal.metric) {
            bail!("the calibration metric {} is not among the selected metrics in the selected environments ({}); the injected busy work slows that metric and is sized on its measured ratio; add it with --metric", cal.metric, envs.join(", "));
        }
        cfg.check_scenarios(&metrics)?;
        let plan = measure::plan(cfg, &metrics, &profiles, false);
        let keys = plan
            .iter()
            .map(|t| {
                (
                    crate::ledger::key(&t.metric.id, &t.profile, &t.metric.environment),
                    t.metric.is_relative(),
                )
            })
            .collect();
        let out_dir = o
            .out_dir
            .clone()
            .unwrap_or_else(|| super::args::default_reports(budgets).join("calibration"));
        Ok(Calibrator {
            cfg,
            cal,
            profiles,
            metrics,
            plan,
            keys,
            out_dir,
        })
    }

    /// The calibration metric.
    fn metric(&self) -> &MetricSpec {
        self.metrics
            .iter()
            .find(|m| m.id == self.cal.metric)
            .expect("checked in new")
    }

    /// Build a profile, plain (`steps` None) or with the calibration
    /// feature's busy work of `steps` (0: the feature's code path with no
    /// work, the base the injected builds are compared with).
    fn artifacts(&self, name: &str, steps: Option<u64>) -> Result<ProfileArtifacts> {
        let mut p = self
            .cfg
            .profile(name)
            .ok_or_else(|| anyhow!("unknown profile {name}"))?
            .clone();
        let mut reports = self.out_dir.clone();
        if let Some(steps) = steps {
            p.features.push(self.cal.feature.clone());
            p.build_env.push((self.cal.env.clone(), steps.to_string()));
            // Each its own working directory: the base must not be
            // overwritten by the injected build.
            let what = if steps == 0 {
                "instrumented"
            } else {
                "injected"
            };
            p.name = format!("calibrate-{what}~{name}");
            reports = reports.join(what);
        }
        crate::subject::profile_artifacts(self.cfg, &p, name, &self.metrics, &reports, None)
    }

    /// One measure stage of `arts` against `base`, in a fresh browser.
    fn measure_once(&self, arts: &[ProfileArtifacts], base: &Base) -> Result<Measured> {
        let mut m = crate::engines::Engines::new(self.cfg, Default::default());
        measure::run(
            self.cfg,
            &self.plan,
            arts,
            Some(base),
            &mut m,
            measure::RunOptions::default(),
        )
    }

    /// `runs` measurements of `arts` against `base`, tallied per key;
    /// `seen` sees each run's figures.
    fn tally(
        &self,
        label: &str,
        runs: u32,
        arts: &[ProfileArtifacts],
        base: &Base,
        seen: &mut dyn FnMut(&Measured),
    ) -> Result<BTreeMap<String, Tally>> {
        let mut t: BTreeMap<String, Tally> = BTreeMap::new();
        for i in 0..runs {
            eprintln!("calibrate: {label} run {} of {runs}", i + 1);
            let m = self.measure_once(arts, base)?;
            for (k, relative) in &self.keys {
                t.entry(k.clone()).or_default().add(&m, k, *relative);
                if let Some(c) = m.results.get(k).and_then(|r| r.comparison.as_ref()) {
                    let est = c
                        .estimate
                        .as_ref()
                        .map(|e| format!("{:.3} [{:.3}, {:.3}]", e.point, e.lo, e.hi))
                        .unwrap_or_default();
                    eprintln!(
                        "calibrate: {label} run {}: {k} {est} {}",
                        i + 1,
                        c.verdict.as_str()
                    );
                }
            }
            seen(&m);
        }
        Ok(t)
    }

    /// Size the injected busy work so it slows the metric's gated statistic
    /// by `pct` %. It cannot simply be sized in microseconds:
    /// `steps_per_us` in budgets.toml is a first guess (a step's cost
    /// depends on the CPU and the engine; cold init runs it in freshly
    /// compiled baseline code), and the added time is not the added p95
    /// (here 127 015 steps added 145 us at the median and read x1.18-x1.29
    /// on the p95, about 270 us). So sizing runs (uncounted) measure the
    /// injected builds against the 0-step ones and read the comparison's own
    /// ratio; a build whose ratio is more than SIZE_TOLERANCE off
    /// 1 + pct/100 is rebuilt with its steps scaled by intended/achieved
    /// excess (once two sizes fell either side of it, interpolated between
    /// them) and measured again; after the last sizing run the counted runs
    /// use the size measured closest to the target. The difference of the
    /// two arms' medians is printed beside it, as the steps' real rate.
    /// Returns the injected builds, their steps and the sizing runs' log.
    fn size_injection(
        &self,
        zero: &Base,
        first_us: &BTreeMap<String, f64>,
        pct: f64,
    ) -> Result<Sized> {
        let metric = self.metric();
        let mut steps: BTreeMap<String, u64> = self
            .profiles
            .iter()
            .map(|p| {
                (
                    p.clone(),
                    (first_us[p] * self.cal.steps_per_us).round() as u64,
                )
            })
            .collect();
        let mut log = Vec::new();
        let mut slow = Vec::new();
        // Per profile, every (steps, achieved %) measured so far.
        let mut seen: BTreeMap<String, Vec<(u64, f64)>> = BTreeMap::new();
        for attempt in 1..=MAX_SIZING_RUNS {
            slow = self
                .profiles
                .iter()
                .map(|p| self.artifacts(p, Some(steps[p])))
                .collect::<Result<Vec<_>>>()?;
            eprintln!("calibrate: sizing run {attempt} (not counted)");
            let m = self.measure_once(&slow, zero)?;
            let mut resized = false;
            for p in &self.profiles {
                let r = m
                    .get(&metric.id, p, &metric.environment)
                    .ok_or_else(|| anyhow!("the sizing run has no {} for {p}", metric.id))?;
                let added_us = in_us(added_at_median(r)?, &metric.unit)?;
                let est = r
                    .comparison
                    .as_ref()
                    .and_then(|c| c.estimate)
                    .ok_or_else(|| {
                        anyhow!("the sizing run has no comparison of {} for {p}", metric.id)
                    })?;
                let achieved_pct = (est.point - 1.0) * 100.0;
                let now = steps[p];
                eprintln!(
                    "calibrate: [{p}] {now} steps: x{:.3} [{:.3}, {:.3}] on the gated statistic (intended x{:.3}); {added_us:.3} us added at the median ({:.0} steps/us here)",
                    est.point,
                    est.lo,
                    est.hi,
                    1.0 + pct / 100.0,
                    now as f64 / added_us.max(f64::MIN_POSITIVE),
                );
                log.push(serde_json::json!({"profile": p, "attempt": attempt, "steps": now, "intended_pct": pct, "achieved_pct": achieved_pct, "ratio": est, "added_us_at_median": added_us}));
                let history = seen.entry(p.clone()).or_default();
                history.push((now, achieved_pct));
                if let Some(next) = resize_steps(pct, now, achieved_pct, added_us)? {
                    // Between two sizes that fell either side of the
                    // target, interpolate: the cost is not proportional to
                    // the steps near zero (17 steps read +6 %, 22 +19 %).
                    let next = between(history, pct).unwrap_or(next);
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
        // Still off after the last sizing run: count at the size measured
        // closest to the target.
        let mut rebuilt = false;
        for p in &self.profiles {
            if let Some(&(best, got)) = seen.get(p).and_then(|h| {
                h.iter()
                    .min_by(|a, b| (a.1 - pct).abs().total_cmp(&(b.1 - pct).abs()))
            }) {
                if best != steps[p] {
                    eprintln!("calibrate: [{p}] counting at {best} steps, the size measured closest to +{pct} % ({got:+.1} %)");
                    steps.insert(p.clone(), best);
                    rebuilt = true;
                }
            }
        }
        if rebuilt {
            slow = self
                .profiles
                .iter()
                .map(|p| self.artifacts(p, Some(steps[p])))
                .collect::<Result<Vec<_>>>()?;
        }
        Ok(Sized { slow, steps, log })
    }
}

/// The step count between the two sizes measured closest either side of
/// `target` % (linear between them), when there are such sizes; None
/// while every size fell on one side.
fn between(history: &[(u64, f64)], target: f64) -> Option<u64> {
    let below = history
        .iter()
        .filter(|h| h.1 < target)
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    let above = history
        .iter()
        .filter(|h| h.1 >= target)
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    let t = (target - below.1) / (above.1 - below.1);
    let s = below.0 as f64 + t * (above.0 as f64 - below.0 as f64);
    Some(s.round().max(1.0) as u64)
}

/// The injected builds, sized.
struct Sized {
    slow: Vec<ProfileArtifacts>,
    steps: BTreeMap<String, u64>,
    /// One entry per profile and sizing run.
    log: Vec<serde_json::Value>,
}

pub fn cli(args: &[String]) -> Result<u8> {
    let o = Options::parse(args)?;
    let mut cfg = config::load(&o.budgets)?;
    crate::build::prepare_toolchain(&mut cfg)?;
    let c = Calibrator::new(&cfg, &o)?;
    let arts = c
        .profiles
        .iter()
        .map(|p| c.artifacts(p, None))
        .collect::<Result<Vec<_>>>()?;

    // A/A: the base is the candidate's own artifact.
    let metric = c.metric();
    let mut aa_values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let aa = c.tally(
        "A/A",
        o.aa_runs,
        &arts,
        &Base::of(&arts, "A/A: the candidate's own artifact"),
        &mut |m| {
            for p in &c.profiles {
                if let Some(r) = m.get(&metric.id, p, &metric.environment) {
                    aa_values.entry(p.clone()).or_default().push(r.value);
                }
            }
        },
    )?;

    // The first guess of the busy work: pct % of the metric's typical A/A
    // value (the median over the A/A runs; the value moves with the host's
    // state from run to run), at budgets.toml's steps_per_us.
    let mut first_us: BTreeMap<String, f64> = BTreeMap::new();
    for p in &c.profiles {
        let typical = aa_values
            .get(p)
            .and_then(|v| crate::stats::median(v))
            .ok_or_else(|| anyhow!("no A/A value of {} for {p}", metric.id))?;
        first_us.insert(p.clone(), in_us(typical, &metric.unit)? * o.pct / 100.0);
    }

    // Injected: the same profiles plus the calibration feature, against
    // the feature at 0 steps. Against the plain build, the feature's own
    // code (a call on the timed path) moved the micro keys by itself: 4
    // steps in channel send read x0.943 [0.900, 0.997], faster, as the
    // path's code was laid out anew; between these two builds only the
    // step count differs. (The A/A runs above measure the shipped build.)
    let zero = c
        .profiles
        .iter()
        .map(|p| c.artifacts(p, Some(0)))
        .collect::<Result<Vec<_>>>()?;
    let instrumented = Base::of(&zero, "the calibration feature at 0 steps");
    let sized = c.size_injection(&instrumented, &first_us, o.pct)?;
    let det = c.tally("injected", o.runs, &sized.slow, &instrumented, &mut |_| {})?;

    report(&c, &o, &aa, &det, &first_us, &sized)?;
    Ok(0)
}

/// Print the table of false regressions and detections per key, and write
/// `calibration.json`.
fn report(
    c: &Calibrator,
    o: &Options,
    aa: &BTreeMap<String, Tally>,
    det: &BTreeMap<String, Tally>,
    first_us: &BTreeMap<String, f64>,
    sized: &Sized,
) -> Result<()> {
    let (runs, pct) = (o.runs, o.pct);
    println!("\ncalibration: {} A/A runs and {runs} runs with +{pct} % busy work (sized on this host) in the code {} times\n", o.aa_runs, c.cal.metric);
    for p in &c.profiles {
        if let Some(last) = sized.log.iter().rev().find(|s| s["profile"] == p.as_str()) {
            println!(
                "[{p}] injected {} steps: intended +{pct} % on the gated statistic, the last sizing run read {:+.1} % ({:.3} us added at the median)",
                last["steps"],
                last["achieved_pct"].as_f64().unwrap_or(f64::NAN),
                last["added_us_at_median"].as_f64().unwrap_or(f64::NAN)
            );
        }
    }
    println!();
    println!(
        "{:<44} {:<48} injected (detections)",
        "key", "A/A (false regressions)"
    );
    for (k, _) in &c.keys {
        let a = aa.get(k).map(Tally::text).unwrap_or_default();
        let d = det.get(k).map(Tally::text).unwrap_or_default();
        println!("{k:<44} {a:<48} {d}");
    }
    let json = serde_json::json!({
        "runs": runs, "aa_runs": o.aa_runs, "inject_pct": pct, "first_guess_us": first_us, "inject_steps": sized.steps, "sizing": sized.log,
        "calibration_metric": c.cal.metric, "aa": aa, "injected": det,
    });
    let path = c.out_dir.join("calibration.json");
    write_atomic(&path, serde_json::to_string_pretty(&json)?.as_bytes())?;
    eprintln!("calibrate: wrote {}", path.display());
    Ok(())
}

/// How far (relative) the injected slowdown may sit from `--inject-pct`
/// before calibrate rebuilds it: one run's ratio has a standard deviation
/// of about 2.5 points here, so a tighter tolerance would chase noise.
const SIZE_TOLERANCE: f64 = 0.15;
/// Steps that must show at the median: 10 000 mixing steps are
/// microseconds in any engine.
const BROKEN_STEPS: u64 = 10_000;
const MAX_SIZING_RUNS: u32 = 4;

/// A timing in the metric's unit, in microseconds.
fn in_us(v: f64, unit: &str) -> Result<f64> {
    match unit {
        "us" => Ok(v),
        "ms" => Ok(v * 1000.0),
        other => bail!("calibration sizes busy work on timings (ms or us), not on {other}"),
    }
}

/// The time the injected build adds, in the metric's unit: the median of
/// all its samples minus the median of the 0-step build's, both measured in
/// the same session.
fn added_at_median(r: &crate::measure::MetricResult) -> Result<f64> {
    let base = r
        .base_histogram
        .as_ref()
        .ok_or_else(|| anyhow!("the sizing run measured no live base"))?;
    let q = |b| -> Result<f64> {
        Ok(crate::stats::statistic_of(
            &crate::stats::decode(b)?,
            crate::stats::Statistic::Median,
        ))
    };
    Ok(q(&r.histogram)? - q(base)?)
}

/// The step count that slows the statistic by `target_pct`, when `steps`
/// slowed it by `achieved_pct` (the extra time taken as proportional to the
/// steps): `None` while within SIZE_TOLERANCE; the scale is held to 1/4..4
/// per run (a ratio lost in noise would otherwise ask for a huge build). A
/// few steps may add less than the median can show (a micro operation's
/// first guess: 4 steps, 0.000 us): they are grown like a ratio lost in
/// noise. An error when BROKEN_STEPS or more added no time at the median
/// (`added_us`): the feature does nothing, or not in the code the metric
/// times.
fn resize_steps(
    target_pct: f64,
    steps: u64,
    achieved_pct: f64,
    added_us: f64,
) -> Result<Option<u64>> {
    if added_us.is_nan() || steps == 0 || (!(added_us > 0.0) && steps >= BROKEN_STEPS) {
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
    let scale = if achieved_pct > 0.0 {
        (target_pct / achieved_pct).clamp(0.25, 4.0)
    } else {
        4.0
    };
    Ok(Some(((steps as f64) * scale).round().max(1.0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_either_side_of_the_target_are_interpolated() {
        // Channel send: 17 steps read +6.3 %, 22 read +19.3 %: 20 for +15 %.
        assert_eq!(between(&[(22, 19.3), (17, 6.3)], 15.0), Some(20));
        // The closest pair is used: 41 (+31.5 %) is ignored.
        assert_eq!(
            between(&[(22, 19.3), (17, 6.3), (41, 31.5)], 15.0),
            Some(20)
        );
        // All on one side: no interpolation.
        assert_eq!(between(&[(17, 6.3), (10, 2.0)], 15.0), None);
        assert_eq!(between(&[], 15.0), None);
    }

    #[test]
    fn busy_work_is_resized_by_the_achieved_slowdown_only_when_off() {
        // 127 015 steps meant +15 % and read +23 %: scaled down to 82 836.
        assert_eq!(
            resize_steps(15.0, 127_015, 23.0, 145.0).unwrap(),
            Some(82_836)
        );
        // Too little is scaled up the same way.
        assert_eq!(
            resize_steps(15.0, 62_000, 10.0, 70.0).unwrap(),
            Some(93_000)
        );
        // Within 15 % of the intended slowdown (12.75-17.25 %): kept.
        assert_eq!(resize_steps(15.0, 80_000, 13.0, 90.0).unwrap(), None);
        assert_eq!(resize_steps(15.0, 80_000, 17.0, 90.0).unwrap(), None);
        // A ratio lost in noise (or below 1) grows the work at most 4x.
        assert_eq!(resize_steps(15.0, 1_000, 0.5, 2.0).unwrap(), Some(4_000));
        assert_eq!(resize_steps(15.0, 1_000, -1.0, 2.0).unwrap(), Some(4_000));
        // A few steps may add less than the median shows: grown 4x.
        assert_eq!(resize_steps(15.0, 4, 1.2, 0.0).unwrap(), Some(16));
        // Steps that add nothing are a broken calibration feature, not a size.
        assert!(resize_steps(15.0, 62_000, 12.0, 0.0).is_err());
        assert!(resize_steps(15.0, 62_000, 12.0, -3.0).is_err());
        assert!(resize_steps(15.0, 62_000, 12.0, f64::NAN).is_err());
        assert!(resize_steps(15.0, 62_000, f64::NAN, 70.0).is_err());
    }
}
