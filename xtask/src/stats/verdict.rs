//! From an interval to words: the three-way A/B verdict and the position of
//! a figure against a warn or cap line.

use super::Interval;
use serde::{Deserialize, Serialize};

/// The three-way answer of a live comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AbVerdict {
    Regressed,
    Unchanged,
    Inconclusive,
    /// The scenario could not run on the base (or the base has no artifact).
    NotComparable,
}

impl AbVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            AbVerdict::Regressed => "regressed",
            AbVerdict::Unchanged => "unchanged",
            AbVerdict::Inconclusive => "inconclusive",
            AbVerdict::NotComparable => "not comparable",
        }
    }
}

/// The three-way rule (module header): `no_change` is 1 for a ratio and 0
/// for a difference; `limit` is the largest change that still passes.
pub fn ab_verdict(ci: &Interval, no_change: f64, limit: f64) -> AbVerdict {
    if ci.point > limit && ci.lo > no_change {
        AbVerdict::Regressed
    } else if ci.hi <= limit {
        AbVerdict::Unchanged
    } else {
        AbVerdict::Inconclusive
    }
}

/// Where an interval sits against a threshold line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    Below,
    Straddles,
    Above,
}

pub fn band(ci: &Interval, line: f64) -> Band {
    if ci.lo > line {
        Band::Above
    } else if ci.hi <= line {
        Band::Below
    } else {
        Band::Straddles
    }
}

/// How many times the blocks run so far an undecided live comparison
/// would need to be decided, if its interval kept its centre and narrowed
/// as 1/sqrt(blocks): to read unchanged, the distance from the point up to
/// the upper end must shrink to the distance up to the limit; to read
/// regressed (the point beyond the limit), the distance down to the lower
/// end must shrink to the distance down to no change. The nearer of the
/// two; `None` when the point sits on the line it would have to clear.
pub fn blocks_factor_to_decide(ci: &Interval, no_change: f64, limit: f64) -> Option<f64> {
    let unchanged = (ci.point < limit).then(|| ((ci.hi - ci.point) / (limit - ci.point)).powi(2));
    let regressed = (ci.point > limit && ci.point > no_change)
        .then(|| ((ci.point - ci.lo) / (ci.point - no_change)).powi(2));
    [unchanged, regressed]
        .into_iter()
        .flatten()
        .filter(|f| f.is_finite())
        .reduce(f64::min)
        .map(|f| f.max(1.0))
}

/// The same for an interval that straddles a warn line.
pub fn blocks_factor_to_clear(ci: &Interval, line: f64) -> Option<f64> {
    let (h, d) = ((ci.hi - ci.lo) / 2.0, (ci.point - line).abs());
    (d > 0.0 && h.is_finite()).then(|| (h / d).powi(2).max(1.0))
}

/// Which undecided keys get the extension, in order: `needs` holds, per
/// key, the seconds it would take to decide it (`None`: more blocks cannot
/// decide it). The cheapest first, so the budget decides as many keys as
/// it can; a key that would need more than twice the seconds left is left
/// out (its estimate is rough, but at ten times the budget it will not
/// close), so the budget is not spent on it while others could close.
pub fn extension_order(needs: &[(usize, Option<f64>)], remaining_s: f64) -> Vec<usize> {
    let mut v: Vec<(usize, f64)> = needs
        .iter()
        .filter_map(|&(k, s)| Some((k, s?)))
        .filter(|&(_, s)| s <= 2.0 * remaining_s)
        .collect();
    v.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    v.into_iter().map(|(k, _)| k).collect()
}

/// Whether more blocks can plausibly move a straddling interval off the
/// line: its half-width shrinks about as 1/sqrt(blocks), so clearing a line
/// at distance d from the point with half-width h takes (h/d)^2 times the
/// blocks run so far. Extending pays only when at most doubling them would
/// do (h/d <= sqrt 2); an interval as wide as a noisy ratio's, centred near
/// the line, would need tens of times the data, which no extension budget
/// buys, so the gate reports the straddle at once instead of spending it.
pub fn straddle_can_close(ci: &Interval, line: f64) -> bool {
    blocks_factor_to_clear(ci, line).is_some_and(|f| f <= 2.0)
}
