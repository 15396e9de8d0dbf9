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

/// One-sided 95 % normal quantile: "19 times in 20".
const Z_POWER: f64 = 1.645;
/// Half-widths of a 95 % interval in standard errors.
const Z_INTERVAL: f64 = 1.96;

/// A comparison's power: the smallest true change (a ratio, or a
/// difference) that a comparison as spread as `ci` would call `regressed`
/// 19 times in 20. The bootstrap's spread is read from the interval itself
/// (its width is 2 x 1.96 standard errors; on the log scale for a ratio)
/// and taken to move with the true change. `ab_verdict` calls a regression
/// when the estimate is beyond `limit` and the lower end beyond
/// `no_change`, so the estimate must clear the larger of the limit and no
/// change plus the interval's lower half, 1.645 standard errors clear.
pub fn min_detectable(ci: &Interval, no_change: f64, limit: f64, ratio: bool) -> Option<f64> {
    type Scale = fn(f64) -> f64;
    let (f, inv): (Scale, Scale) = if ratio {
        (f64::ln, f64::exp)
    } else {
        (|x| x, |x| x)
    };
    if ratio && !(ci.lo > 0.0 && ci.point > 0.0) {
        return None;
    }
    let se = (f(ci.hi) - f(ci.lo)) / (2.0 * Z_INTERVAL);
    let lower_half = f(ci.point) - f(ci.lo);
    if !(se.is_finite() && lower_half.is_finite()) {
        return None;
    }
    let clear = f(limit).max(f(no_change) + lower_half);
    Some(inv(clear + Z_POWER * se))
}

/// Whether a comparison as spread as `ci` can tell a change at its limit
/// from no change: the interval's lower half is narrower than the distance
/// from no change to the limit. When it is not, a regression just past the
/// limit reads inconclusive however often it is measured at these blocks.
pub fn resolves_limit(ci: &Interval, no_change: f64, limit: f64, ratio: bool) -> bool {
    if ratio {
        ci.lo > 0.0 && (ci.point / ci.lo).ln() <= (limit / no_change).ln()
    } else {
        ci.point - ci.lo <= limit - no_change
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

/// Which undecided keys get the extension's next pass, in order, and
/// whether they can be decided in what is left: `needs` holds, per key,
/// the seconds it would take to decide it (`None`: more blocks cannot
/// decide it). The cheapest first, so the budget decides as many keys as it
/// can; a key that would need more than twice the seconds left (its
/// estimate is rough, but at ten times the budget it will not close) waits
/// while any other could close. When none can, the budget left narrows
/// the rest, cheapest first, instead of going unspent: a narrower interval
/// is a smaller minimum detectable change, and the keys far from deciding
/// are the ones whose intervals are as wide as their limits.
pub fn extension_order(needs: &[(usize, Option<f64>)], remaining_s: f64) -> (Vec<usize>, bool) {
    let mut v: Vec<(usize, f64)> = needs.iter().filter_map(|&(k, s)| Some((k, s?))).collect();
    v.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    let near: Vec<usize> = v
        .iter()
        .filter(|&&(_, s)| s <= 2.0 * remaining_s)
        .map(|&(k, _)| k)
        .collect();
    if near.is_empty() {
        (v.into_iter().map(|(k, _)| k).collect(), false)
    } else {
        (near, true)
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
    blocks_factor_to_clear(ci, line).is_some_and(|f| f <= 2.0)
}

#[cfg(test)]
mod power_tests {
    use super::*;

    fn ci(point: f64, lo: f64, hi: f64) -> Interval {
        Interval { point, lo, hi }
    }

    #[test]
    fn a_narrow_interval_catches_just_past_its_limit_and_a_wide_one_does_not() {
        // Cold init's A/A spread: about +-5 %: catches x1.146 19 times in 20.
        let narrow = ci(1.0, 0.952, 1.05);
        let m = min_detectable(&narrow, 1.0, 1.10, true).unwrap();
        assert!((m - 1.1462).abs() < 0.001, "{m}");
        assert!(resolves_limit(&narrow, 1.0, 1.10, true));
        // A micro key's: [0.913, 1.064] around 1.0: the lower half (9.1 %)
        // is near the limit; the spread alone needs x1.173.
        let wide = ci(1.0, 0.913, 1.064);
        let m = min_detectable(&wide, 1.0, 1.10, true).unwrap();
        assert!((m - 1.1730).abs() < 0.001, "{m}");
        assert!(resolves_limit(&wide, 1.0, 1.10, true));
        // Wider than the limit: the lower end decides, and the limit
        // cannot be resolved.
        let wider = ci(1.0, 0.88, 1.12);
        assert!(!resolves_limit(&wider, 1.0, 1.10, true));
        let m = min_detectable(&wider, 1.0, 1.10, true).unwrap();
        let se = (1.12f64.ln() - 0.88f64.ln()) / 3.92;
        assert!(
            (m - ((1.0f64 / 0.88).ln() + 1.645 * se).exp()).abs() < 1e-9,
            "{m}"
        );
        // A difference in percentage points: linear.
        let d = ci(0.0, -1.0, 1.0);
        let m = min_detectable(&d, 0.0, 3.0, false).unwrap();
        assert!((m - (3.0 + 1.645 / 1.96)).abs() < 1e-9, "{m}");
        assert!(min_detectable(&ci(1.0, 0.0, 1.1), 1.0, 1.1, true).is_none());
    }
}
