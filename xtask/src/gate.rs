//! Stage 6, gate: figures + caps + ledger history + baseline -> verdicts.
//!
//! Pure: no I/O, no clock. Everything here is tested with fixed numbers.
//!
//! Rules (DESIGN.md section 4):
//! - above the hard cap: `fail` at once;
//! - warn-then-block metric in its warn band: `warn` the first time, `fail`
//!   from the N-th consecutive run in the band (N = `consecutive_warns_to_fail`,
//!   same metric, profile and environment); a run outside the band resets the
//!   streak;
//! - hard metric above its advisory warn band: `warn`, never escalates;
//! - worse than the blessed baseline by more than `baseline_regression_pct`:
//!   `fail`. Sizes compare exactly. Timings count as regressed only when the
//!   difference also exceeds the measured noise (see [`noise_of`]);
//! - no value (missing data): `fail`.

use crate::config::{Caps, GateKind};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// The blessed baseline of one metric key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselinePoint {
    pub value: f64,
    /// Per-seed gate values when the metric was measured per seed.
    #[serde(default)]
    pub per_seed: Vec<f64>,
}

/// What the gate knows about one metric key in this run.
#[derive(Debug, Clone)]
pub struct Observation<'a> {
    /// None: the value could not be measured (always a fail).
    pub value: Option<f64>,
    /// Per-seed values (empty for sizes: one deterministic sample).
    pub per_seed: &'a [f64],
    pub kind: GateKind,
    pub caps: &'a Caps,
    /// Sizes are deterministic and compare exactly against the baseline.
    pub deterministic: bool,
    /// For each earlier run in the ledger for this key, oldest first: was
    /// the value in the warn band?
    pub history_in_band: &'a [bool],
    pub baseline: Option<&'a BaselinePoint>,
    pub consecutive_warns_to_fail: u32,
    pub baseline_regression_pct: f64,
}

/// The verdict for one key, with its reasons in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub status: Status,
    /// Was the value in the warn band (feeds the next run's streak)?
    pub in_warn_band: bool,
    /// Consecutive runs in the warn band, this one included (0 if not).
    pub warn_streak: u32,
    /// Percent change against the baseline, when there is one.
    pub baseline_delta_pct: Option<f64>,
    /// Noise used for the baseline comparison, in the metric's unit.
    pub baseline_noise: Option<f64>,
    pub baseline_regressed: bool,
    /// Why the status is what it is, in words. Empty for a plain pass.
    pub reasons: Vec<String>,
}

/// Measured noise of a timing: the spread (max - min) of the per-seed
/// values, this run's and the baseline's, whichever is larger. The per-seed
/// p95s are independent repeats of the same protocol, so their spread is a
/// direct, distribution-free estimate of how much the gate value moves
/// between identical runs.
pub fn noise_of(current: &[f64], baseline: &[f64]) -> f64 {
    let spread = |v: &[f64]| {
        if v.len() < 2 {
            return 0.0;
        }
        let max = v.iter().cloned().fold(f64::MIN, f64::max);
        let min = v.iter().cloned().fold(f64::MAX, f64::min);
        max - min
    };
    spread(current).max(spread(baseline))
}

fn fmt(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

pub fn verdict(o: &Observation) -> Verdict {
    let Some(value) = o.value else {
        return Verdict {
            status: Status::Fail,
            in_warn_band: false,
            warn_streak: 0,
            baseline_delta_pct: None,
            baseline_noise: None,
            baseline_regressed: false,
            reasons: vec!["no value was measured (missing data is a failure, never a skip)".into()],
        };
    };
    let mut status = Status::Pass;
    let mut reasons = Vec::new();
    let mut in_warn_band = false;
    let mut warn_streak = 0;

    if value > o.caps.hard {
        status = Status::Fail;
        reasons.push(format!("{} is above the hard cap {}", fmt(value), fmt(o.caps.hard)));
    } else if let Some(w) = o.caps.warn.filter(|w| value > *w) {
        match o.kind {
            GateKind::Hard => {
                status = Status::Warn;
                reasons.push(format!(
                    "{} is above the advisory warn level {} (cap {}; advisory, never escalates)",
                    fmt(value),
                    fmt(w),
                    fmt(o.caps.hard)
                ));
            }
            GateKind::WarnThenBlock => {
                in_warn_band = true;
                let prior = o.history_in_band.iter().rev().take_while(|b| **b).count() as u32;
                warn_streak = prior + 1;
                let limit = o.consecutive_warns_to_fail.max(1);
                if warn_streak >= limit {
                    status = Status::Fail;
                    reasons.push(format!(
                        "{} is in the warn band ({} < value <= {}) for the {} consecutive run; {} in a row fail",
                        fmt(value),
                        fmt(w),
                        fmt(o.caps.hard),
                        ordinal(warn_streak),
                        limit
                    ));
                } else {
                    status = Status::Warn;
                    reasons.push(format!(
                        "{} is in the warn band ({} < value <= {}), run {} of {} before it fails",
                        fmt(value),
                        fmt(w),
                        fmt(o.caps.hard),
                        warn_streak,
                        limit
                    ));
                }
            }
        }
    }

    let mut baseline_delta_pct = None;
    let mut baseline_noise = None;
    let mut baseline_regressed = false;
    if let Some(b) = o.baseline {
        let delta = value - b.value;
        let pct = if b.value != 0.0 { delta / b.value * 100.0 } else if delta == 0.0 { 0.0 } else { f64::INFINITY };
        baseline_delta_pct = Some(pct);
        let noise = if o.deterministic { 0.0 } else { noise_of(o.per_seed, &b.per_seed) };
        baseline_noise = Some(noise);
        if pct > o.baseline_regression_pct && delta > noise {
            baseline_regressed = true;
            status = Status::Fail;
            reasons.push(if o.deterministic {
                format!(
                    "{} is {:+.1}% against the baseline {} (limit +{}%)",
                    fmt(value),
                    pct,
                    fmt(b.value),
                    o.baseline_regression_pct
                )
            } else {
                format!(
                    "{} is {:+.1}% against the baseline {} (limit +{}%), and the difference {} exceeds the measured noise {} (per-seed spread)",
                    fmt(value),
                    pct,
                    fmt(b.value),
                    o.baseline_regression_pct,
                    fmt(delta),
                    fmt(noise)
                )
            });
        }
    }

    Verdict { status, in_warn_band, warn_streak, baseline_delta_pct, baseline_noise, baseline_regressed, reasons }
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// The run's overall status: the worst of its verdicts.
pub fn overall(statuses: impl IntoIterator<Item = Status>) -> Status {
    statuses.into_iter().max().unwrap_or(Status::Pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(hard: f64, warn: Option<f64>) -> Caps {
        Caps { hard, warn }
    }

    fn obs<'a>(value: Option<f64>, kind: GateKind, c: &'a Caps, hist: &'a [bool]) -> Observation<'a> {
        Observation {
            value,
            per_seed: &[],
            kind,
            caps: c,
            deterministic: true,
            history_in_band: hist,
            baseline: None,
            consecutive_warns_to_fail: 2,
            baseline_regression_pct: 10.0,
        }
    }

    /// Table of (value, kind, hard, warn, history, expected status, streak).
    #[test]
    fn verdict_table() {
        use GateKind::*;
        use Status::*;
        let rows: &[(f64, GateKind, f64, Option<f64>, &[bool], Status, u32)] = &[
            // pass under everything
            (5.0, WarnThenBlock, 12.0, Some(8.0), &[], Pass, 0),
            // exactly at the warn level is not above it
            (8.0, WarnThenBlock, 12.0, Some(8.0), &[], Pass, 0),
            // first time in the band: warn
            (9.0, WarnThenBlock, 12.0, Some(8.0), &[], Warn, 1),
            // second consecutive: fail
            (9.0, WarnThenBlock, 12.0, Some(8.0), &[true], Fail, 2),
            // third consecutive: still fail
            (9.0, WarnThenBlock, 12.0, Some(8.0), &[true, true], Fail, 3),
            // a pass in between resets the streak
            (9.0, WarnThenBlock, 12.0, Some(8.0), &[true, false], Warn, 1),
            // above hard: fail at once, no history needed
            (12.5, WarnThenBlock, 12.0, Some(8.0), &[], Fail, 0),
            (651.0, Hard, 650.0, None, &[], Fail, 0),
            // hard metric's advisory band warns and never escalates
            (600.0, Hard, 650.0, Some(500.0), &[true, true, true], Warn, 0),
            // at the hard cap exactly is not above it
            (650.0, Hard, 650.0, None, &[], Pass, 0),
        ];
        for (i, (v, kind, hard, warn, hist, want, streak)) in rows.iter().enumerate() {
            let c = caps(*hard, *warn);
            let got = verdict(&obs(Some(*v), *kind, &c, hist));
            assert_eq!(got.status, *want, "row {i}: {got:?}");
            assert_eq!(got.warn_streak, *streak, "row {i}: {got:?}");
            if *want != Pass {
                assert!(!got.reasons.is_empty(), "row {i}: a non-pass must say why");
            }
        }
    }

    #[test]
    fn missing_value_fails() {
        let c = caps(1.0, None);
        let v = verdict(&obs(None, GateKind::Hard, &c, &[]));
        assert_eq!(v.status, Status::Fail);
        assert!(v.reasons[0].contains("missing"));
    }

    #[test]
    fn size_regression_is_exact() {
        let c = caps(1000.0, None);
        let b = BaselinePoint { value: 100.0, per_seed: vec![] };
        let mut o = obs(Some(110.5), GateKind::Hard, &c, &[]);
        o.baseline = Some(&b);
        let v = verdict(&o);
        assert_eq!(v.status, Status::Fail);
        assert!(v.baseline_regressed);
        assert!((v.baseline_delta_pct.unwrap() - 10.5).abs() < 1e-9);
        o.value = Some(110.0);
        assert_eq!(verdict(&o).status, Status::Pass, "exactly +10% is within the limit");
    }

    #[test]
    fn timing_regression_needs_to_exceed_noise() {
        let c = caps(1000.0, None);
        // Baseline seeds spread 10..14 (noise 4); current +20% but only +2.
        let b = BaselinePoint { value: 10.0, per_seed: vec![10.0, 11.0, 14.0] };
        let cur = [12.0, 12.0, 12.0];
        let mut o = obs(Some(12.0), GateKind::Hard, &c, &[]);
        o.deterministic = false;
        o.per_seed = &cur;
        o.baseline = Some(&b);
        let v = verdict(&o);
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert_eq!(v.baseline_noise, Some(4.0));
        // +60% and +6 > noise 4: regressed.
        o.value = Some(16.0);
        let v = verdict(&o);
        assert_eq!(v.status, Status::Fail);
        assert!(v.reasons[0].contains("noise"), "{:?}", v.reasons);
    }

    #[test]
    fn overall_is_worst() {
        assert_eq!(overall([Status::Pass, Status::Warn]), Status::Warn);
        assert_eq!(overall([Status::Warn, Status::Fail, Status::Pass]), Status::Fail);
        assert_eq!(overall([]), Status::Pass);
    }
}
