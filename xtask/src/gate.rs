//! Stage 6, gate: figures + caps + ledger history + baseline -> verdicts.
//!
//! Pure: no I/O, no clock. Everything here is tested with fixed numbers.
//!
//! Rules (README "Warn bands" and "Live comparison", `stats/` for the interval rules):
//! - no value (missing data): `fail`. A timing within `clock_floor_ticks`
//!   ticks of the page's clock is unresolved, which is missing data too;
//! - above the hard cap: `fail` at once (with an interval: when the whole
//!   interval is above it; a point above the cap whose interval reaches
//!   below it is a `warn` that says so);
//! - warn-then-block metric: in its warn band when the value's interval
//!   lies above the warn line (the point value when there is no interval).
//!   In the band: `warn` the first time, `fail` from the N-th consecutive
//!   run in the band (N = `consecutive_warns_to_fail`, same metric, profile
//!   and environment). An interval that straddles the line is a `warn` in
//!   words that does not count toward the streak: escalation never runs on
//!   noise. The streak is recomputed from the ledger's stored values against
//!   today's warn line (`prior_streak`): a past run above the line counts,
//!   whether it warned or failed (above the hard cap, or regressed), so a
//!   fail never launders a streak; a run below the line resets it; a run
//!   with no value, or whose interval straddled the line, neither counts
//!   nor resets;
//! - hard metric above its advisory warn band: `warn`, never escalates;
//! - sizes worse than the base by more than `baseline_regression_pct`:
//!   `fail` (sizes are deterministic and compare exactly);
//! - timings are compared live (`Comparison`): `regressed` fails,
//!   `inconclusive` (after the extension budget) warns, `unchanged` passes,
//!   `not comparable` passes and says why;
//! - a regression against the base that a `Budget-Accept:` trailer covers
//!   (`accept.rs`) is `accepted` when it is within the bound: a size's
//!   change, or the upper end of a timing's interval. Beyond the bound it
//!   fails as without the trailer, and says by how much. An acceptance
//!   lifts the base rule only: caps, warn bands, heap growth and the clock
//!   floor apply as ever.

use crate::accept::{Acceptance, Bound};
use crate::config::{Caps, GateKind};
use crate::stats::{self, AbVerdict, Band, Interval};
use serde::{Deserialize, Serialize};

/// How far above the clock floor a timing is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockCheck {
    /// One clock tick per recorded sample, in the metric's unit (for
    /// relative `%` metrics: in ms of the timed samples behind them).
    pub tick_in_unit: f64,
    /// The figure in ticks (per operation for batched samples).
    pub ticks: f64,
    /// Below this many ticks the figure is unresolved (a fail).
    pub floor_ticks: f64,
}

/// A timing measured live against its base, in the same browser session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Where the base came from, in words.
    pub base: String,
    /// `regressed`, `unchanged`, `inconclusive` or `not comparable`.
    pub verdict: AbVerdict,
    /// `ratio` (candidate / base of the statistic, per paired round) or `difference_pp`
    /// (relative metrics: candidate minus base, in percentage points).
    pub measure: String,
    /// The base's gate value, measured in this session.
    pub base_value: Option<f64>,
    /// The ratio or difference with its 95 % interval.
    pub estimate: Option<Interval>,
    /// The largest ratio (or difference) that passes.
    pub limit: f64,
    /// Blocks per arm and seed.
    pub blocks: u32,
    /// More blocks were added because the verdict was inconclusive.
    pub extended: bool,
    /// The verdict in words.
    pub reason: String,
    /// The base's per-seed values.
    #[serde(default)]
    pub base_per_seed: Vec<f64>,
    /// Base and candidate have one identity (the same inputs): unchanged
    /// by construction, and the base was not measured.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub identical_inputs: bool,
    /// Power: the smallest true change (in `measure`'s terms) this
    /// comparison's spread would call regressed 19 times in 20, at its
    /// blocks (`stats::min_detectable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_detectable: Option<f64>,
    /// Whether that spread can tell a change at the limit from no change
    /// (`stats::resolves_limit`); false says the key cannot resolve its
    /// limit at these blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolves_limit: Option<bool>,
}

impl Comparison {
    /// The power in words: "catches x1.15 or more 19 times in 20 at 8
    /// blocks", and when the spread is wider than the limit, that it cannot
    /// resolve it.
    pub fn power_words(&self) -> Option<String> {
        let m = self.min_detectable?;
        let ratio = self.measure == "ratio";
        let fig = |v: f64| {
            if ratio {
                format!("x{v:.3}")
            } else {
                format!("+{v:.2} pp")
            }
        };
        let limit = if ratio {
            format!("{:.0} %", (self.limit - 1.0) * 100.0)
        } else {
            format!("{} pp", self.limit)
        };
        let blocks = format!(
            "{} block{}",
            self.blocks,
            if self.blocks == 1 { "" } else { "s" }
        );
        Some(if self.resolves_limit == Some(false) {
            format!(
                "cannot resolve its {limit} limit at {blocks}: its interval is wider than the limit; catches {} or more 19 times in 20",
                fig(m)
            )
        } else {
            format!("catches {} or more 19 times in 20 at {blocks}", fig(m))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    /// A regression against the base within a `Budget-Accept:` bound: it
    /// passes, and the reports list it above the fold.
    Accepted,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Accepted => "accepted",
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
    /// The value's 95 % interval (timings and heap).
    pub value_ci: Option<&'a Interval>,
    pub kind: GateKind,
    pub caps: &'a Caps,
    /// The earlier runs of this key in the ledger, oldest first.
    pub history: &'a [Past],
    /// Sizes: the base's value (exact comparison).
    pub size_base: Option<f64>,
    /// Timings: the live comparison with the base.
    pub comparison: Option<&'a Comparison>,
    /// Timings: the figure against the page's clock.
    pub clock: Option<&'a ClockCheck>,
    /// Heap: the trend of the sampling window (a growing heap fails).
    pub growth: Option<&'a stats::HeapGrowth>,
    /// Scenario runs that failed on their first try and passed on the
    /// retry: a warn that says what failed.
    pub retried: &'a [String],
    pub consecutive_warns_to_fail: u32,
    pub baseline_regression_pct: f64,
    /// The `Budget-Accept:` trailer that covers this key, if any.
    pub accepted: Option<&'a Acceptance>,
}

/// An acceptance as it applied to one key: the trailer, the change it
/// measured against the base, and whether that was within the bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    pub acceptance: Acceptance,
    /// The measured change in the bound's terms: `+12.3%`, or a ratio with
    /// its interval, `x1.061 (95 % CI 1.032 to 1.090)`.
    pub change: String,
    /// Within the bound: the key's status is `accepted`.
    pub within: bool,
}

/// One earlier run of a key, as the ledger stored it: its value and
/// interval, so band membership is judged against today's caps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Past {
    pub value: Option<f64>,
    pub ci: Option<Interval>,
}

/// How many runs just before this one were above `warn` (see the module's
/// rules: missing or straddling runs are skipped, a run below resets).
pub fn prior_streak(history: &[Past], warn: f64) -> u32 {
    let mut n = 0;
    for p in history.iter().rev() {
        let Some(v) = p.value else { continue };
        match band_of(v, p.ci.as_ref(), warn) {
            Band::Above => n += 1,
            Band::Straddles => continue,
            Band::Below => break,
        }
    }
    n
}

/// The verdict for one key, with its reasons in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// `pass`, `accepted`, `warn` or `fail`.
    pub status: Status,
    /// Was the value in the warn band (feeds the next run's streak)? Only
    /// when its interval lies wholly above the warn line.
    pub in_warn_band: bool,
    /// Consecutive runs in the warn band, this one included (0 if not).
    pub warn_streak: u32,
    /// The value's interval straddles the warn line (reported, not counted).
    #[serde(default)]
    pub band_straddles: bool,
    /// Percent change against the base, when there is one (sizes: exact;
    /// timings: the live ratio's point estimate).
    pub baseline_delta_pct: Option<f64>,
    /// Worse than the base beyond the limit (sizes: exactly; timings: the interval excludes no change).
    pub baseline_regressed: bool,
    /// The figure is within a few clock ticks: unresolved (missing data).
    #[serde(default)]
    pub unresolved: bool,
    /// Why the status is what it is, in words. Empty for a plain pass.
    pub reasons: Vec<String>,
    /// A `Budget-Accept:` trailer that covered a regression of this key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<Applied>,
}

/// A figure with as many digits as it needs.
pub fn fmt(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else if v.abs() >= 0.01 || v == 0.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.2e}")
    }
}

/// Where a figure lies against a line: with its interval when it has one
/// (above only when the whole interval is), else by its point.
fn band_of(value: f64, ci: Option<&stats::Interval>, line: f64) -> Band {
    match ci {
        Some(ci) => stats::band(ci, line),
        None if value > line => Band::Above,
        None => Band::Below,
    }
}

impl Verdict {
    /// A verdict with no band, streak or base: a status and its reasons.
    pub fn plain(status: Status, reasons: Vec<String>) -> Verdict {
        Verdict {
            status,
            in_warn_band: false,
            warn_streak: 0,
            band_straddles: false,
            baseline_delta_pct: None,
            baseline_regressed: false,
            unresolved: false,
            reasons,
            acceptance: None,
        }
    }
}

fn fail_missing(reason: String, unresolved: bool) -> Verdict {
    Verdict {
        unresolved,
        ..Verdict::plain(Status::Fail, vec![reason])
    }
}

/// The verdict of one observation. Long by design: the rules in the order
/// they apply (no value, below the clock floor, the hard cap, the warn band
/// and its escalation, the size base, the live comparison, retries, heap
/// growth), each adding its status and its reason in words.
pub fn verdict(o: &Observation) -> Verdict {
    let Some(value) = o.value else {
        return fail_missing(
            "no value was measured (missing data is a failure, never a skip)".into(),
            false,
        );
    };
    if let Some(c) = o.clock.filter(|c| !(c.ticks >= c.floor_ticks)) {
        return fail_missing(
            format!(
                "unresolved: {} is {:.1} ticks of the page's clock (one tick = {} in this unit; the floor is {} ticks), so it measures the timer, not the code; treated as missing data",
                fmt(value),
                c.ticks,
                fmt(c.tick_in_unit),
                c.floor_ticks
            ),
            true,
        );
    }
    let mut v = Verdict::plain(Status::Pass, Vec::new());
    let ci_text = o
        .value_ci
        .map(|ci| format!(" (95 % CI {} to {})", fmt(ci.lo), fmt(ci.hi)))
        .unwrap_or_default();

    // The hard cap, like a warn line, is judged with the interval when
    // there is one: above it only when the whole interval is.
    let above_hard = band_of(value, o.value_ci, o.caps.hard);
    if above_hard == Band::Above {
        v.status = Status::Fail;
        v.reasons.push(format!(
            "{}{ci_text} is above the hard cap {}",
            fmt(value),
            fmt(o.caps.hard)
        ));
    } else if above_hard == Band::Straddles && value > o.caps.hard {
        v.status = Status::Warn;
        v.band_straddles = true;
        v.reasons.push(format!(
            "{}{ci_text} is above the hard cap {} but its interval reaches below it: the breach is not established on this run's data",
            fmt(value),
            fmt(o.caps.hard)
        ));
    } else if let Some(w) = o.caps.warn {
        match o.kind {
            GateKind::Hard if value > w => {
                v.status = Status::Warn;
                v.reasons.push(format!(
                    "{} is above the advisory warn level {} (cap {}; advisory, never escalates)",
                    fmt(value),
                    fmt(w),
                    fmt(o.caps.hard)
                ));
            }
            GateKind::Hard => {}
            GateKind::WarnThenBlock => match band_of(value, o.value_ci, w) {
                Band::Below => {}
                Band::Straddles => {
                    v.status = Status::Warn;
                    v.band_straddles = true;
                    v.reasons.push(format!(
                            "{}{ci_text} straddles the warn line {}: it may or may not be in the warn band, so this run does not count toward escalation",
                            fmt(value),
                            fmt(w)
                        ));
                }
                Band::Above => {
                    v.in_warn_band = true;
                    let prior = prior_streak(o.history, w);
                    v.warn_streak = prior + 1;
                    let limit = o.consecutive_warns_to_fail.max(1);
                    let band_text = format!(
                        "{}{ci_text} is in the warn band ({} < value <= {})",
                        fmt(value),
                        fmt(w),
                        fmt(o.caps.hard)
                    );
                    if v.warn_streak >= limit {
                        v.status = Status::Fail;
                        v.reasons.push(format!(
                            "{band_text} for the {} consecutive run; {limit} in a row fail",
                            ordinal(v.warn_streak)
                        ));
                    } else {
                        v.status = Status::Warn;
                        v.reasons.push(format!(
                            "{band_text}, run {} of {limit} before it fails",
                            v.warn_streak
                        ));
                    }
                }
            },
        }
    }

    if let Some(b) = o.size_base {
        let delta = value - b;
        let pct = if b != 0.0 {
            delta / b * 100.0
        } else if delta == 0.0 {
            0.0
        } else {
            f64::INFINITY
        };
        v.baseline_delta_pct = Some(pct);
        if pct > o.baseline_regression_pct {
            v.baseline_regressed = true;
            let text = format!(
                "{} is {:+.1}% against the base {} (limit +{}%)",
                fmt(value),
                pct,
                fmt(b),
                o.baseline_regression_pct
            );
            match o.accepted.filter(|a| matches!(a.bound, Bound::Percent(_))) {
                Some(a) => accept(&mut v, a, format!("{pct:+.1}%"), pct, text, Status::Fail),
                None => {
                    v.status = Status::Fail;
                    v.reasons.push(text);
                }
            }
        }
    }
    if let Some(c) = o.comparison {
        if let Some(e) = &c.estimate {
            v.baseline_delta_pct = Some(if c.measure == "ratio" {
                (e.point - 1.0) * 100.0
            } else {
                e.point
            });
        }
        // An acceptance in the comparison's own terms: a ratio bound for a
        // ratio, a percentage (points) for a difference.
        let accepted = o.accepted.filter(|a| match a.bound {
            Bound::Ratio(_) => c.measure == "ratio",
            Bound::Percent(_) => c.measure != "ratio",
        });
        let regressing = matches!(c.verdict, AbVerdict::Regressed | AbVerdict::Inconclusive);
        match (c.estimate.as_ref(), accepted) {
            (Some(e), Some(a)) if regressing => {
                let change = if c.measure == "ratio" {
                    format!("x{:.3} (95 % CI {:.3} to {:.3})", e.point, e.lo, e.hi)
                } else {
                    format!("{:+.2} pp (95 % CI {:+.2} to {:+.2})", e.point, e.lo, e.hi)
                };
                // Past the bound, a regression fails; an inconclusive one
                // is the warn it would have been without the trailer.
                let beyond = if c.verdict == AbVerdict::Regressed {
                    v.baseline_regressed = true;
                    Status::Fail
                } else {
                    Status::Warn
                };
                accept(&mut v, a, change, e.hi, c.reason.clone(), beyond);
            }
            _ => {}
        }
        match c.verdict {
            _ if accepted.is_some() && regressing && c.estimate.is_some() => {}
            AbVerdict::Regressed => {
                v.baseline_regressed = true;
                v.status = Status::Fail;
                v.reasons.push(c.reason.clone());
            }
            AbVerdict::Inconclusive => {
                v.status = v.status.max(Status::Warn);
                v.reasons.push(format!("{}; reported as a warn", c.reason));
            }
            AbVerdict::Unchanged | AbVerdict::NotComparable => {}
        }
    }
    if !o.retried.is_empty() {
        v.status = v.status.max(Status::Warn);
        v.reasons.push(format!(
            "{} scenario run(s) failed on the first try and passed on the retry (the figure is the retry's): {}",
            o.retried.len(),
            o.retried.join("; ")
        ));
    }
    if let Some(g) = o.growth.filter(|g| g.growing()) {
        v.status = Status::Fail;
        let parts: Vec<String> = g
            .parts
            .iter()
            .map(|(name, b)| format!("{name} {:+.0} KiB", b / 1024.0))
            .collect();
        v.reasons.insert(
            0,
            format!(
                "heap still growing: {:+.0} KiB per 100 operations{} in {} of {} seeds (the medians of each seed's {}-operation window rise through all four quarters, or step up at least three times); a steady state does not grow, whatever its p95",
                g.bytes_per_100_ops / 1024.0,
                if parts.is_empty() { String::new() } else { format!(" ({})", parts.join(", ")) },
                g.growing_seeds,
                g.seeds,
                g.window_ops
            ),
        );
    }
    v
}

/// Apply acceptance `a` to a regression of `change` (in the bound's terms)
/// whose upper end is `upper` (a size: its change; a timing: the upper end
/// of its interval): `accepted` within the bound, else a fail saying by how
/// much it exceeds it, with status `beyond` (never lowering one already
/// worse). `what` is the regression in words.
fn accept(
    v: &mut Verdict,
    a: &Acceptance,
    change: String,
    upper: f64,
    what: String,
    beyond: Status,
) {
    let bound = match a.bound {
        Bound::Percent(p) => p,
        Bound::Ratio(r) => r,
    };
    let within = upper <= bound;
    if within {
        v.status = v.status.max(Status::Accepted);
        v.reasons
            .push(format!("{what}; within the bound: {}", a.text()));
    } else {
        v.status = v.status.max(beyond);
        let past = match a.bound {
            Bound::Percent(_) => format!("{:.1} points past +{bound}%", upper - bound),
            Bound::Ratio(_) => format!(
                "its upper end x{upper:.3} is {:.1} % past x{bound}",
                (upper / bound - 1.0) * 100.0
            ),
        };
        v.reasons.push(format!(
            "{what}; beyond what was accepted ({}): {past}{}",
            a.text(),
            if beyond == Status::Warn {
                "; reported as a warn"
            } else {
                ""
            }
        ));
    }
    v.acceptance = Some(Applied {
        acceptance: a.clone(),
        change,
        within,
    });
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

    /// A history where `true` was a run at 9 and `false` one at 5.
    fn past(hist: &[bool]) -> Vec<Past> {
        hist.iter()
            .map(|&b| Past {
                value: Some(if b { 9.0 } else { 5.0 }),
                ci: None,
            })
            .collect()
    }

    fn obs<'a>(
        value: Option<f64>,
        kind: GateKind,
        c: &'a Caps,
        hist: &'a [Past],
    ) -> Observation<'a> {
        Observation {
            value,
            value_ci: None,
            kind,
            caps: c,
            history: hist,
            size_base: None,
            comparison: None,
            clock: None,
            growth: None,
            retried: &[],
            consecutive_warns_to_fail: 2,
            baseline_regression_pct: 10.0,
            accepted: None,
        }
    }

    /// (value, kind, hard, warn, history, expected status, streak).
    type Row = (
        f64,
        GateKind,
        f64,
        Option<f64>,
        &'static [bool],
        Status,
        u32,
    );

    #[test]
    fn verdict_table() {
        use GateKind::*;
        use Status::*;
        let rows: &[Row] = &[
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
            (
                600.0,
                Hard,
                650.0,
                Some(500.0),
                &[true, true, true],
                Warn,
                0,
            ),
            // at the hard cap exactly is not above it
            (650.0, Hard, 650.0, None, &[], Pass, 0),
        ];
        for (i, (v, kind, hard, warn, hist, want, streak)) in rows.iter().enumerate() {
            let c = caps(*hard, *warn);
            let h = past(hist);
            let got = verdict(&obs(Some(*v), *kind, &c, &h));
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
        let mut o = obs(Some(110.5), GateKind::Hard, &c, &[]);
        o.size_base = Some(100.0);
        let v = verdict(&o);
        assert_eq!(v.status, Status::Fail);
        assert!(v.baseline_regressed);
        assert!((v.baseline_delta_pct.unwrap() - 10.5).abs() < 1e-9);
        o.value = Some(110.0);
        assert_eq!(
            verdict(&o).status,
            Status::Pass,
            "exactly +10% is within the limit"
        );
    }

    fn comparison(verdict: AbVerdict, point: f64, lo: f64, hi: f64) -> Comparison {
        Comparison {
            base: "--against main".into(),
            verdict,
            measure: "ratio".into(),
            base_value: Some(1.0),
            estimate: Some(Interval { point, lo, hi }),
            limit: 1.1,
            blocks: 4,
            extended: false,
            reason: format!("{} (words)", verdict.as_str()),
            base_per_seed: vec![],
            identical_inputs: false,
            min_detectable: None,
            resolves_limit: None,
        }
    }

    /// The three-way comparison maps to fail / warn / pass.
    #[test]
    fn live_comparison_decides_timing_regressions() {
        let c = caps(1000.0, None);
        let rows = [
            (
                comparison(AbVerdict::Regressed, 1.15, 1.12, 1.18),
                Status::Fail,
            ),
            (
                comparison(AbVerdict::Inconclusive, 1.08, 0.98, 1.16),
                Status::Warn,
            ),
            (
                comparison(AbVerdict::Unchanged, 1.01, 0.97, 1.05),
                Status::Pass,
            ),
            (
                comparison(AbVerdict::NotComparable, 1.0, 1.0, 1.0),
                Status::Pass,
            ),
        ];
        for (cmp, want) in &rows {
            let mut o = obs(Some(1.2), GateKind::Hard, &c, &[]);
            o.comparison = Some(cmp);
            let v = verdict(&o);
            assert_eq!(v.status, *want, "{cmp:?}: {v:?}");
            if *want != Status::Pass {
                assert!(
                    v.reasons.iter().any(|r| r.contains(cmp.verdict.as_str())),
                    "{v:?}"
                );
            }
        }
        let mut o = obs(Some(1.2), GateKind::Hard, &c, &[]);
        o.comparison = Some(&rows[0].0);
        assert!((verdict(&o).baseline_delta_pct.unwrap() - 15.0).abs() < 1e-9);
    }

    fn acceptance(bound: Bound) -> Acceptance {
        Acceptance {
            metric: "M".into(),
            profile: "*".into(),
            environment: "*".into(),
            bound,
            reason: "adds the zstd codec".into(),
            commit: "0123456789abcdef".into(),
            author: "Ada".into(),
            line: 3,
        }
    }

    /// A size regression within its accepted bound is `accepted`; beyond
    /// it, a fail that names both figures; a hard cap is never lifted.
    #[test]
    fn an_accepted_size_regression_is_bounded_and_never_lifts_a_cap() {
        let c = caps(100.0, None);
        let plus15 = acceptance(Bound::Percent(15.0));
        let plus5 = acceptance(Bound::Percent(5.0));
        let judge = |value: f64, a: &Acceptance| {
            let mut o = obs(Some(value), GateKind::Hard, &c, &[]);
            o.size_base = Some(50.0);
            o.accepted = Some(a);
            verdict(&o)
        };
        let within = judge(56.0, &plus15);
        assert_eq!(within.status, Status::Accepted, "{within:?}");
        let applied = within.acceptance.as_ref().unwrap();
        assert!(applied.within && applied.change == "+12.0%", "{applied:?}");
        assert!(
            within.reasons[0].contains("+12.0% against the base")
                && within.reasons[0].contains(
                    "within the bound: +15% accepted in 0123456789ab (Ada): adds the zstd codec"
                ),
            "{within:?}"
        );
        let beyond = judge(56.0, &plus5);
        assert_eq!(beyond.status, Status::Fail);
        assert!(!beyond.acceptance.as_ref().unwrap().within);
        assert!(
            beyond.reasons[0].contains("+12.0%")
                && beyond.reasons[0].contains("7.0 points past +5%"),
            "{beyond:?}"
        );
        // 110 is +120 % and over the cap of 100: the cap fails it whatever the bound.
        let capped = judge(110.0, &acceptance(Bound::Percent(200.0)));
        assert_eq!(capped.status, Status::Fail);
        assert!(
            capped
                .reasons
                .iter()
                .any(|r| r.contains("above the hard cap")),
            "{capped:?}"
        );
        // A ratio bound does not cover a size.
        assert_eq!(
            judge(56.0, &acceptance(Bound::Ratio(1.2))).status,
            Status::Fail
        );
    }

    /// A live timing is accepted only when the upper end of its interval is
    /// within the bound; an inconclusive one past it stays the warn it was.
    #[test]
    fn an_accepted_timing_needs_its_whole_interval_within_the_bound() {
        let c = caps(1000.0, None);
        let x108 = acceptance(Bound::Ratio(1.08));
        let judge = |cmp: &Comparison| {
            let mut o = obs(Some(1.2), GateKind::Hard, &c, &[]);
            o.comparison = Some(cmp);
            o.accepted = Some(&x108);
            verdict(&o)
        };
        let inside = judge(&comparison(AbVerdict::Regressed, 1.06, 1.03, 1.075));
        assert_eq!(inside.status, Status::Accepted, "{inside:?}");
        assert_eq!(
            inside.acceptance.unwrap().change,
            "x1.060 (95 % CI 1.030 to 1.075)"
        );
        let straddling = judge(&comparison(AbVerdict::Regressed, 1.06, 1.03, 1.09));
        assert_eq!(
            straddling.status,
            Status::Fail,
            "the estimate alone is not enough"
        );
        assert!(
            straddling.reasons[0].contains("upper end x1.090 is 0.9 % past x1.08"),
            "{straddling:?}"
        );
        let unsure = judge(&comparison(AbVerdict::Inconclusive, 1.05, 0.99, 1.12));
        assert_eq!(unsure.status, Status::Warn, "{unsure:?}");
        let unsure_inside = judge(&comparison(AbVerdict::Inconclusive, 1.03, 0.99, 1.07));
        assert_eq!(unsure_inside.status, Status::Accepted);
        let unchanged = judge(&comparison(AbVerdict::Unchanged, 1.01, 0.97, 1.05));
        assert_eq!(unchanged.status, Status::Pass);
        assert!(unchanged.acceptance.is_none());
    }

    /// A heap under its cap that keeps growing fails, in words.
    #[test]
    fn a_growing_heap_fails_whatever_its_p95() {
        let c = caps(24.0, None);
        let growing = stats::HeapGrowth {
            growing_seeds: 5,
            seeds: 5,
            bytes_per_100_ops: 290.0 * 1024.0,
            window_ops: 500,
            parts: vec![
                ("wasm memory".into(), 288.0 * 1024.0),
                ("js heap".into(), 2048.0),
            ],
        };
        let mut o = obs(Some(2.9), GateKind::Hard, &c, &[]);
        o.growth = Some(&growing);
        let v = verdict(&o);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.reasons[0], "heap still growing: +290 KiB per 100 operations (wasm memory +288 KiB, js heap +2 KiB) in 5 of 5 seeds (the medians of each seed's 500-operation window rise through all four quarters, or step up at least three times); a steady state does not grow, whatever its p95");
        let steady = stats::HeapGrowth {
            growing_seeds: 1,
            ..growing.clone()
        };
        o.growth = Some(&steady);
        assert_eq!(verdict(&o).status, Status::Pass);
    }

    /// A retry that passed does not hide the first failure.
    #[test]
    fn a_first_try_failure_is_a_warn_even_when_the_retry_passed() {
        let c = caps(60.0, None);
        let retried = vec!["scenario `init` for B-INIT (core-min, desktop, seed 11, candidate build): in the page: boom".to_string()];
        let mut o = obs(Some(1.0), GateKind::Hard, &c, &[]);
        o.retried = &retried;
        let v = verdict(&o);
        assert_eq!(v.status, Status::Warn);
        assert!(
            v.reasons[0]
                .starts_with("1 scenario run(s) failed on the first try and passed on the retry")
                && v.reasons[0].contains("boom"),
            "{:?}",
            v.reasons
        );
        assert!(
            !v.in_warn_band && v.warn_streak == 0,
            "a retry never feeds escalation"
        );
    }

    /// A figure within a few clock ticks is unresolved, a fail.
    #[test]
    fn a_figure_at_the_clock_floor_is_unresolved_missing_data() {
        let c = caps(2.5, None);
        let one_tick = ClockCheck {
            tick_in_unit: 0.005,
            ticks: 1.0,
            floor_ticks: 10.0,
        };
        let mut o = obs(Some(0.005), GateKind::Hard, &c, &[]);
        o.clock = Some(&one_tick);
        let v = verdict(&o);
        assert_eq!(v.status, Status::Fail);
        assert!(v.unresolved);
        assert!(
            v.reasons[0].contains("unresolved") && v.reasons[0].contains("1.0 ticks"),
            "{:?}",
            v.reasons
        );
        let resolved = ClockCheck {
            tick_in_unit: 0.005,
            ticks: 42.0,
            floor_ticks: 10.0,
        };
        o.clock = Some(&resolved);
        o.value = Some(0.21);
        assert_eq!(verdict(&o).status, Status::Pass);
    }

    /// A hard cap is breached on the interval, not on noise: a point above
    /// the cap with an interval reaching below it warns; a whole interval
    /// above it fails at once.
    #[test]
    fn hard_cap_is_judged_with_the_interval() {
        let c = caps(20.0, Some(12.0));
        let noisy = Interval {
            point: 21.0,
            lo: 9.0,
            hi: 30.0,
        };
        let clear = Interval {
            point: 25.0,
            lo: 22.0,
            hi: 28.0,
        };
        let mut o = obs(Some(21.0), GateKind::WarnThenBlock, &c, &[]);
        o.value_ci = Some(&noisy);
        let v = verdict(&o);
        assert_eq!((v.status, v.band_straddles), (Status::Warn, true), "{v:?}");
        assert!(v.reasons[0].contains("not established"), "{v:?}");
        o.value = Some(25.0);
        o.value_ci = Some(&clear);
        assert_eq!(verdict(&o).status, Status::Fail);
        // Without an interval (sizes), the point decides.
        let mut o = obs(Some(21.0), GateKind::Hard, &c, &[]);
        o.value_ci = None;
        assert_eq!(verdict(&o).status, Status::Fail);
    }

    /// Band membership is decided with the interval, and a
    /// straddling interval never feeds the escalation streak.
    #[test]
    fn warn_band_uses_the_interval_and_straddling_never_escalates() {
        let c = caps(12.0, Some(8.0));
        let above = Interval {
            point: 9.0,
            lo: 8.6,
            hi: 9.4,
        };
        let straddle = Interval {
            point: 8.2,
            lo: 7.7,
            hi: 8.6,
        };
        let below = Interval {
            point: 7.9,
            lo: 7.5,
            hi: 8.0,
        };
        let h = past(&[true]);
        let mut o = obs(Some(9.0), GateKind::WarnThenBlock, &c, &h);
        o.value_ci = Some(&above);
        let v = verdict(&o);
        assert_eq!(
            (v.status, v.in_warn_band, v.warn_streak),
            (Status::Fail, true, 2),
            "{v:?}"
        );
        o.value = Some(8.2);
        o.value_ci = Some(&straddle);
        let v = verdict(&o);
        assert_eq!(
            (v.status, v.in_warn_band, v.band_straddles),
            (Status::Warn, false, true),
            "{v:?}"
        );
        assert!(v.reasons[0].contains("straddles"), "{v:?}");
        o.value = Some(7.9);
        o.value_ci = Some(&below);
        assert_eq!(verdict(&o).status, Status::Pass);
    }

    /// A fail between two warns does not launder the streak, and
    /// a straddling or unmeasured run neither counts nor resets it.
    #[test]
    fn a_fail_between_warns_keeps_the_streak() {
        let c = caps(12.0, Some(8.0));
        let p = |v: Option<f64>| Past { value: v, ci: None };
        // warn (9) -> fail above the hard cap (13) -> now 9: third in a row.
        let h = [p(Some(9.0)), p(Some(13.0))];
        let v = verdict(&obs(Some(9.0), GateKind::WarnThenBlock, &c, &h));
        assert_eq!((v.status, v.warn_streak), (Status::Fail, 3), "{v:?}");
        // warn -> missing data -> warn: the gap does not reset it.
        let h = [p(Some(9.0)), p(None)];
        assert_eq!(
            verdict(&obs(Some(9.0), GateKind::WarnThenBlock, &c, &h)).warn_streak,
            2
        );
        // warn -> straddling -> warn: the straddle neither counts nor resets.
        let st = Past {
            value: Some(8.2),
            ci: Some(Interval {
                point: 8.2,
                lo: 7.7,
                hi: 8.6,
            }),
        };
        let h = [p(Some(9.0)), st];
        assert_eq!(
            verdict(&obs(Some(9.0), GateKind::WarnThenBlock, &c, &h)).warn_streak,
            2
        );
        // warn -> pass -> warn: reset.
        let h = [p(Some(9.0)), p(Some(5.0))];
        assert_eq!(
            verdict(&obs(Some(9.0), GateKind::WarnThenBlock, &c, &h)).status,
            Status::Warn
        );
    }

    /// Band membership of past runs is judged against today's
    /// caps, from the stored values (raising the warn line ends a streak).
    #[test]
    fn past_runs_are_judged_against_todays_warn_line() {
        let h = [Past {
            value: Some(9.0),
            ci: None,
        }];
        let old = caps(12.0, Some(8.0));
        assert_eq!(
            verdict(&obs(Some(9.0), GateKind::WarnThenBlock, &old, &h)).status,
            Status::Fail
        );
        let raised = caps(12.0, Some(8.5));
        assert_eq!(
            verdict(&obs(Some(9.0), GateKind::WarnThenBlock, &raised, &h)).status,
            Status::Fail
        );
        let higher = caps(12.0, Some(9.5));
        assert_eq!(
            verdict(&obs(Some(10.0), GateKind::WarnThenBlock, &higher, &h)).warn_streak,
            1,
            "9 is below today's line"
        );
    }

    #[test]
    fn overall_is_worst() {
        assert_eq!(overall([Status::Pass, Status::Warn]), Status::Warn);
        assert_eq!(
            overall([Status::Warn, Status::Fail, Status::Pass]),
            Status::Fail
        );
        assert_eq!(overall([]), Status::Pass);
    }
}
