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

/// Whether more blocks can plausibly move a straddling interval off the
/// line: its half-width shrinks about as 1/sqrt(blocks), so clearing a line
/// at distance d from the point with half-width h takes (h/d)^2 times the
/// blocks run so far. Extending pays only when at most doubling them would
/// do (h/d <= sqrt 2); an interval as wide as a noisy ratio's, centred near
/// the line, would need tens of times the data, which no extension budget
/// buys, so the gate reports the straddle at once instead of spending it.
pub fn straddle_can_close(ci: &Interval, line: f64) -> bool {
    let (h, d) = ((ci.hi - ci.lo) / 2.0, (ci.point - line).abs());
    d > 0.0 && h.is_finite() && (h / d).powi(2) <= 2.0
}
