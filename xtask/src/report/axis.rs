//! Plot axes scaled to the data they show (pure, tested on fixed numbers).
//!
//! A distribution that sits at 2 % of its cap is a vertical line on an axis
//! from 0 to the cap, so an axis spans the data, not the budget: linear, or
//! log10 where the data span more than a decade. A cap or warn line joins
//! the axis only if the data still fill at least a third of it afterwards;
//! otherwise the plot says where the line is, in words ("off scale").

/// The fraction of the axis the data must keep when a mark is added.
const MIN_DATA_SHARE: f64 = 1.0 / 3.0;
/// Padding on each side, as a fraction of the span (in axis space).
const PAD: f64 = 0.04;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Axis {
    /// Ends of the axis, in data units.
    pub lo: f64,
    pub hi: f64,
    pub log: bool,
}

impl Axis {
    /// The axis for `data`, extended to each of `marks` that fits (nearest
    /// first).
    pub fn fit(data: &[f64], marks: &[f64]) -> Axis {
        let finite: Vec<f64> = data.iter().copied().filter(|v| v.is_finite()).collect();
        let (Some(dmin), Some(dmax)) = (
            finite.iter().copied().reduce(f64::min),
            finite.iter().copied().reduce(f64::max),
        ) else {
            return Axis {
                lo: 0.0,
                hi: 1.0,
                log: false,
            };
        };
        let log = dmin > 0.0 && dmax / dmin > 10.0;
        let t = |v: f64| if log { v.log10() } else { v };
        // A single value still gets a width: a tenth of its size (or 1).
        let (mut lo, mut hi) = (t(dmin), t(dmax));
        if hi - lo <= 0.0 {
            let w = if log {
                0.05
            } else {
                (dmax.abs() * 0.1).max(f64::MIN_POSITIVE.sqrt())
            };
            let w = if w == 0.0 || !w.is_finite() { 1.0 } else { w };
            lo -= w / 2.0;
            hi += w / 2.0;
        }
        let data_w = hi - lo;
        let mut marks: Vec<f64> = marks
            .iter()
            .copied()
            .filter(|m| m.is_finite() && (!log || *m > 0.0))
            .collect();
        marks.sort_by(|a, b| dist(t(*a), lo, hi).total_cmp(&dist(t(*b), lo, hi)));
        for m in marks {
            let (nlo, nhi) = (lo.min(t(m)), hi.max(t(m)));
            if data_w / (nhi - nlo) >= MIN_DATA_SHARE {
                lo = nlo;
                hi = nhi;
            }
        }
        let pad = (hi - lo) * PAD;
        let (lo, hi) = (lo - pad, hi + pad);
        let back = |v: f64| if log { 10f64.powf(v) } else { v };
        // Non-negative data keep a non-negative axis.
        let lo = if !log && dmin >= 0.0 {
            back(lo).max(0.0)
        } else {
            back(lo)
        };
        Axis {
            lo,
            hi: back(hi),
            log,
        }
    }

    /// Where `v` falls, from 0 (lo) to 1 (hi); outside for values off scale.
    pub fn pos(&self, v: f64) -> f64 {
        if self.log {
            (v.max(f64::MIN_POSITIVE).log10() - self.lo.log10())
                / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }

    pub fn contains(&self, v: f64) -> bool {
        (0.0..=1.0).contains(&self.pos(v))
    }

    /// Tick values: the finest 1-2-5 step with at most 7 ticks on a linear axis;
    /// decades on a log axis (with 2 and 5 between them when it spans fewer
    /// than two).
    pub fn ticks(&self) -> Vec<f64> {
        if self.log {
            let (a, b) = (
                self.lo.log10().ceil() as i32,
                self.hi.log10().floor() as i32,
            );
            let decades: Vec<f64> = (a..=b).map(|e| 10f64.powi(e)).collect();
            if decades.len() >= 3 {
                return decades;
            }
            let (a, b) = (
                self.lo.log10().floor() as i32,
                self.hi.log10().ceil() as i32,
            );
            return (a..=b)
                .flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e)))
                .filter(|v| self.contains(*v))
                .collect();
        }
        let step = nice_step(self.lo, self.hi);
        let first = (self.lo / step).ceil() as i64;
        let last = (self.hi / step).floor() as i64;
        (first..=last).map(|i| i as f64 * step).collect()
    }

    /// A tick's label: as many decimals as the tick spacing needs.
    pub fn label(&self, v: f64) -> String {
        let ticks = self.ticks();
        let step = if self.log {
            v
        } else {
            ticks
                .windows(2)
                .map(|w| w[1] - w[0])
                .next()
                .unwrap_or(v.abs())
        };
        let decimals = if step >= 1.0 || step <= 0.0 {
            0
        } else {
            (-step.log10()).ceil() as usize
        };
        format!("{v:.decimals$}")
    }
}

fn dist(v: f64, lo: f64, hi: f64) -> f64 {
    if v < lo {
        lo - v
    } else if v > hi {
        v - hi
    } else {
        0.0
    }
}

/// The finest 1-2-5 step that puts at most `MAX_TICKS` ticks on [lo, hi].
fn nice_step(lo: f64, hi: f64) -> f64 {
    const MAX_TICKS: i64 = 7;
    let range = hi - lo;
    if range <= 0.0 || !range.is_finite() {
        return 1.0;
    }
    let mut mag = 10f64.powf(range.log10().floor() - 2.0);
    loop {
        for m in [1.0, 2.0, 5.0] {
            let s = m * mag;
            let ticks = (hi / s).floor() as i64 - (lo / s).ceil() as i64 + 1;
            if ticks <= MAX_TICKS {
                return s;
            }
        }
        mag *= 10.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_spans_the_data_and_a_far_cap_stays_off_scale() {
        // Cold init 1.7-3.0 ms against a 100 ms cap: the cap would squeeze
        // the data into 1.3 % of the axis, so it stays off.
        let a = Axis::fit(&[1.7, 2.1, 3.0], &[100.0, 80.0]);
        assert!(!a.log);
        assert!(
            a.lo > 1.6 && a.lo < 1.7 && a.hi > 3.0 && a.hi < 3.1,
            "{a:?}"
        );
        assert!(!a.contains(100.0) && !a.contains(80.0) && a.contains(2.1));
    }

    #[test]
    fn a_near_cap_joins_the_axis_and_a_third_is_the_limit() {
        // Data width 1.3: a cap at 4 makes the axis 2.3 wide (data 57 %).
        let a = Axis::fit(&[1.7, 3.0], &[4.0]);
        assert!(a.contains(4.0) && a.hi < 4.2, "{a:?}");
        // At 5.6 the data would keep 1.3/3.9 = 33.3 %: still in; at 5.7 not.
        assert!(Axis::fit(&[1.7, 3.0], &[5.59]).contains(5.59));
        assert!(!Axis::fit(&[1.7, 3.0], &[5.7]).contains(5.7));
        // The nearer mark goes first: warn at 3.5 fits, the cap beyond it does not.
        let a = Axis::fit(&[1.7, 3.0], &[20.0, 3.5]);
        assert!(a.contains(3.5) && !a.contains(20.0), "{a:?}");
    }

    #[test]
    fn more_than_a_decade_is_a_log_axis_with_decade_ticks() {
        let a = Axis::fit(&[0.02, 0.5, 40.0], &[]);
        assert!(a.log, "{a:?}");
        assert_eq!(a.ticks(), vec![0.1, 1.0, 10.0]);
        assert!(a.pos(1.0) > 0.3 && a.pos(1.0) < 0.7);
        // A decade or less stays linear, with 1-2-5 ticks inside it.
        let b = Axis::fit(&[2.0, 19.0], &[]);
        assert!(!b.log);
        assert_eq!(b.ticks(), vec![5.0, 10.0, 15.0]);
        assert_eq!(b.label(15.0), "15");
    }

    #[test]
    fn ticks_and_labels_follow_the_spacing() {
        let a = Axis {
            lo: 0.021,
            hi: 0.034,
            log: false,
        };
        let t = a.ticks();
        assert_eq!(t.len(), 7, "{t:?}");
        assert!(
            (t[0] - 0.022).abs() < 1e-12 && (t[6] - 0.034).abs() < 1e-12,
            "{t:?}"
        );
        assert_eq!(a.label(t[1]), "0.024");
        // Cold init on its own axis: 0.2 ms steps.
        let b = Axis::fit(&[1.7, 3.0], &[100.0]);
        assert_eq!(b.ticks().len(), 7, "{:?}", b.ticks());
        assert_eq!(b.label(b.ticks()[0]), "1.8");
    }

    #[test]
    fn degenerate_data_still_make_an_axis() {
        let one = Axis::fit(&[2.0, 2.0], &[]);
        assert!(one.contains(2.0) && one.hi > one.lo);
        let zero = Axis::fit(&[0.0], &[]);
        assert!(zero.contains(0.0) && zero.hi > zero.lo, "{zero:?}");
        assert_eq!(
            Axis::fit(&[], &[]),
            Axis {
                lo: 0.0,
                hi: 1.0,
                log: false
            }
        );
        // Negative overheads keep a negative end.
        let neg = Axis::fit(&[-8.0, 12.0], &[20.0]);
        assert!(neg.lo < -8.0 && neg.contains(20.0), "{neg:?}");
    }
}
