//! Intervals: the hierarchical bootstrap of one figure, and the paired
//! bootstrap of a comparison round by round (see the stats module header).

use super::{median, quantile_in_place, SplitMix, Statistic};
use serde::{Deserialize, Serialize};

/// Samples of one arm of a comparison: seed -> blocks -> samples, in the
/// metric's unit. Seeds are in protocol order and paired across arms.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArmSamples {
    pub seeds: Vec<Vec<Vec<f64>>>,
}

impl ArmSamples {
    pub fn with_seeds(n: usize) -> ArmSamples {
        ArmSamples {
            seeds: vec![Vec::new(); n],
        }
    }
    /// Blocks per seed (the smallest count over seeds).
    pub fn blocks(&self) -> usize {
        self.seeds.iter().map(Vec::len).min().unwrap_or(0)
    }
    /// The seed's statistic over all of its blocks.
    pub fn seed_stat(&self, seed: usize, s: Statistic) -> Option<f64> {
        let mut all: Vec<f64> = self.seeds.get(seed)?.iter().flatten().copied().collect();
        (!all.is_empty()).then(|| quantile_in_place(&mut all, s.quantile()))
    }
    /// Gate statistic: median over seeds of the per-seed statistic.
    pub fn gate_stat(&self, s: Statistic) -> Option<f64> {
        let per: Option<Vec<f64>> = (0..self.seeds.len())
            .map(|i| self.seed_stat(i, s))
            .collect();
        median(&per?)
    }
}

/// A point estimate with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub point: f64,
    pub lo: f64,
    pub hi: f64,
}

/// Replicates per interval. 2000 keeps the Monte Carlo error of a 2.5 %
/// tail well below the intervals' own width at our sample counts.
pub const REPLICATES: usize = 2000;

/// The hierarchical bootstrap of a figure computed from the gate statistic
/// of each arm (see the module header). `figure` maps the per-arm gate
/// statistics, in arm order, to the reported figure. Every arm must have the
/// same number of seeds and at least one block per seed.
pub fn hierarchical_bootstrap(
    arms: &[&ArmSamples],
    stat: Statistic,
    replicates: usize,
    rng_seed: u64,
    figure: &dyn Fn(&[f64]) -> f64,
) -> Option<Interval> {
    let n_seeds = arms.first()?.seeds.len();
    if n_seeds == 0
        || arms
            .iter()
            .any(|a| a.seeds.len() != n_seeds || a.blocks() == 0)
    {
        return None;
    }
    let points: Option<Vec<f64>> = arms.iter().map(|a| a.gate_stat(stat)).collect();
    let point = figure(&points?);
    let q = stat.quantile();
    let mut rng = SplitMix::new(rng_seed);
    let mut buf: Vec<f64> = Vec::new();
    let mut per_seed = vec![0.0; n_seeds];
    let mut arm_stats = vec![0.0; arms.len()];
    let mut picked = vec![0usize; n_seeds];
    let mut reps = Vec::with_capacity(replicates);
    for _ in 0..replicates {
        for p in picked.iter_mut() {
            *p = rng.below(n_seeds);
        }
        for (ai, arm) in arms.iter().enumerate() {
            for (k, &seed) in picked.iter().enumerate() {
                let blocks = &arm.seeds[seed];
                buf.clear();
                for _ in 0..blocks.len() {
                    let b = &blocks[rng.below(blocks.len())];
                    for _ in 0..b.len() {
                        buf.push(b[rng.below(b.len())]);
                    }
                }
                per_seed[k] = if buf.is_empty() {
                    f64::NAN
                } else {
                    quantile_in_place(&mut buf, q)
                };
            }
            arm_stats[ai] = median(&per_seed).unwrap_or(f64::NAN);
        }
        let f = figure(&arm_stats);
        if f.is_finite() {
            reps.push(f);
        }
    }
    if reps.len() < replicates / 2 {
        return None;
    }
    Some(percentile_interval(point, &mut reps))
}

/// The 95 % percentile interval of bootstrap replicates around `point`
/// (widened to hold the point, which the replicates may miss by a bucket).
fn percentile_interval(point: f64, reps: &mut [f64]) -> Interval {
    let lo = quantile_in_place(reps, 0.025);
    let hi = quantile_in_place(reps, 0.975);
    Interval {
        point,
        lo: lo.min(point),
        hi: hi.max(point),
    }
}

/// The statistic of one block, as a mid-quantile (below), so a round's
/// ratio of two block statistics is not held to the clock's grid.
pub fn block_stat(block: &[f64], s: Statistic) -> Option<f64> {
    (!block.is_empty()).then(|| mid_quantile(block, s.quantile()))
}

/// Parzen's mid-quantile: the inverse of the mid-distribution function
/// F_mid(x) = P(X < x) + P(X = x) / 2, taken at the distinct sample values
/// and interpolated linearly between them (E. Parzen, "Quantile probability
/// and statistical data modeling", Statistical Science 19(4), 2004; Ma,
/// Genton and Parzen, "Asymptotic properties of sample quantiles of
/// discrete distributions", AISM 63, 2011). Without ties it is the usual
/// interpolated sample quantile (the median of an even count is the
/// midpoint of the two middle values).
///
/// Why: a batched sample is a multiple of the clock step over the batch,
/// so a block's samples sit on a grid (5 us / 8 runs = 1.25 % of a replay
/// sample), and a block's nearest-rank median is a grid point. The ratio of
/// two such medians moved in steps of 1.25 %, so a 3 % overhead read 0.0 %
/// for one seed of a run (all 8 rounds a tie) and 3.5 % for others. The
/// mid-quantile moves with the share of samples on each side of the grid
/// point, as the true quantile does.
pub fn mid_quantile(v: &[f64], q: f64) -> f64 {
    assert!(!v.is_empty(), "quantile of no samples");
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let n = s.len() as f64;
    // (distinct value, F_mid at it)
    let mut points: Vec<(f64, f64)> = Vec::new();
    let mut below = 0usize;
    let mut i = 0;
    while i < s.len() {
        let mut j = i;
        while j < s.len() && s[j] == s[i] {
            j += 1;
        }
        points.push((s[i], (below as f64 + (j - i) as f64 / 2.0) / n));
        below = j;
        i = j;
    }
    let (first, last) = (points[0], points[points.len() - 1]);
    if q <= first.1 {
        return first.0;
    }
    if q >= last.1 {
        return last.0;
    }
    let k = points.partition_point(|p| p.1 <= q);
    let ((x0, f0), (x1, f1)) = (points[k - 1], points[k]);
    x0 + (q - f0) / (f1 - f0) * (x1 - x0)
}

/// Paired rounds of one seed: for every round that each arm ran, the
/// per-round figure of the arms' block statistics (in arm order). Round i
/// is block i of every arm: the blocks of one round ran back to back in the
/// same page (a build and its reference: alternating within one block), so
/// they share whatever state the host was in.
pub fn round_figures(
    arms: &[&ArmSamples],
    seed: usize,
    stat: Statistic,
    figure: &dyn Fn(&[f64]) -> f64,
) -> Vec<f64> {
    let rounds = arms
        .iter()
        .map(|a| a.seeds.get(seed).map_or(0, Vec::len))
        .min()
        .unwrap_or(0);
    let mut stats = vec![0.0; arms.len()];
    (0..rounds)
        .filter_map(|r| {
            for (ai, a) in arms.iter().enumerate() {
                stats[ai] = block_stat(&a.seeds[seed][r], stat)?;
            }
            Some(figure(&stats)).filter(|f| f.is_finite())
        })
        .collect()
}

/// A build's samples over its reference's, sample by sample, in percent:
/// block r of seed s holds 100 x build[i] / reference[i] for the i-th
/// sample of each side of that block. A relative metric's scenario records
/// the two sides alternately (ABBA), so sample i of each ran about a
/// millisecond apart and the host's state of that moment cancels in their
/// ratio; the block's median of these ratios is its overhead. Unequal
/// blocks are cut to the shorter; a non-finite ratio is dropped.
pub fn paired_ratios(build: &ArmSamples, reference: &ArmSamples) -> ArmSamples {
    let seeds = build
        .seeds
        .iter()
        .zip(&reference.seeds)
        .map(|(b, r)| {
            b.iter()
                .zip(r)
                .map(|(bb, rb)| {
                    bb.iter()
                        .zip(rb)
                        .map(|(x, y)| x / y * 100.0)
                        .filter(|v| v.is_finite())
                        .collect()
                })
                .collect()
        })
        .collect();
    ArmSamples { seeds }
}

/// The paired-round figure and its interval (see the module header): per
/// round, `figure` of the arms' block statistics; per seed, the median over
/// its rounds; the gate figure is the median over seeds. Both medians take
/// the midpoint of the two middle values for an even count: the
/// nearest-rank (lower) median of 8 rounds leans low by half the gap
/// between them, which showed as A/A ratios below 1 in 32 of 60 desktop
/// comparisons against 9 above (median x0.993). The
/// bootstrap resamples seeds, then rounds within each picked seed, keeping
/// each round's blocks together: the pair is the unit, so state the arms
/// shared in a round cancels in every replicate as it does in the point.
pub fn paired_bootstrap(
    arms: &[&ArmSamples],
    stat: Statistic,
    replicates: usize,
    rng_seed: u64,
    figure: &dyn Fn(&[f64]) -> f64,
) -> Option<Interval> {
    let n_seeds = arms.first()?.seeds.len();
    if n_seeds == 0 || arms.iter().any(|a| a.seeds.len() != n_seeds) {
        return None;
    }
    let per_seed: Vec<Vec<f64>> = (0..n_seeds)
        .map(|s| round_figures(arms, s, stat, figure))
        .collect();
    if per_seed.iter().any(Vec::is_empty) {
        return None;
    }
    let seed_points: Vec<f64> = per_seed.iter().filter_map(|r| median(r)).collect();
    let point = median(&seed_points)?;
    let mut rng = SplitMix::new(rng_seed);
    let mut picked = vec![0.0; n_seeds];
    let mut buf = Vec::new();
    let mut reps = Vec::with_capacity(replicates);
    for _ in 0..replicates {
        for slot in picked.iter_mut() {
            let rounds = &per_seed[rng.below(n_seeds)];
            buf.clear();
            buf.extend((0..rounds.len()).map(|_| rounds[rng.below(rounds.len())]));
            *slot = median(&buf).unwrap_or(f64::NAN);
        }
        reps.push(median(&picked).unwrap_or(f64::NAN));
    }
    Some(percentile_interval(point, &mut reps))
}
