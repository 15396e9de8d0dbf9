//! Statistics of the measurement protocol and of the live A/B comparison
//! (docs/ARCHITECTURE.md, "Measurement, in prose"). `histogram.rs` holds the
//! samples, `bootstrap.rs` the intervals, `verdict.rs` what an interval
//! says, `heap.rs` the heap trend; this file the small numeric helpers.
//!
//! **Per-seed figure and gate value.** Samples go into an HdrHistogram
//! (3 significant digits) per seed; the per-seed figure is the seed's
//! statistic (p95 for latencies and heap, the median for relative metrics
//! such as replay overhead), the gate value is the median of the per-seed
//! figures. The median of independent repeats is robust to one disturbed
//! seed. Histograms are merged exactly (bucket counts added), never by
//! averaging percentiles.
//!
//! **Method of the intervals (why this and not a t-test).** The data are
//! nested: seeds, blocks within a seed, samples within a block; samples of
//! one block share JIT, GC and cache state, so they are not independent,
//! and a Student-t on means (tachometer's `stats.ts`) would both ignore that
//! and say nothing about a p95. A single figure's interval (the value of a
//! metric) therefore comes from the hierarchical bootstrap (Saravanan,
//! Berman and Sober, "Application of the hierarchical bootstrap to
//! multi-level data in neuroscience", NBDT 2020): each replicate resamples
//! seeds with replacement, then that seed's blocks, then samples within each
//! picked block, and recomputes the gate statistic. The 95 % interval is the
//! 2.5th and 97.5th percentile of the replicates (Efron and Tibshirani, "An
//! Introduction to the Bootstrap", 1993, ch. 13). Replicates use a fixed
//! seed, so the same data always give the same interval.
//!
//! **Two arms are compared round by round.** Base and candidate (and a
//! build and its reference, for an overhead) are measured in the same
//! browser session: per seed, rounds in which every arm runs one block, in
//! a randomized order ("duet" benchmarking: Bulej, Horky, Tuma et al.,
//! "Duet Benchmarking: Improving Measurement Accuracy in the Cloud", ICPE
//! 2020). A shared host has slow and fast spells that outlast a block, so
//! pooling each arm's blocks per seed lets one arm catch more slow blocks
//! than the other. A comparison is therefore computed per round, from the
//! arms' block statistics (a ratio of the two blocks' p95s; for an
//! overhead, their ratio minus 1), and a seed's figure is the median over
//! its rounds: a level the round's blocks shared cancels. Its interval is
//! the same two-stage bootstrap with the round as the unit (seeds, then
//! rounds with their blocks kept together), as pairs are resampled whole in
//! the bootstrap of matched pairs (Davison and Hinkley, "Bootstrap Methods
//! and their Application", 1997, section 3.8). A live comparison of an
//! overhead differences the two overheads of one round (four blocks).
//!
//! **A build and its reference share one block.** For an overhead the two
//! builds run in one block, alternating batch by batch (ABBA order), so a
//! pair is about a millisecond apart rather than a block apart. The
//! overhead is read sample by sample (`paired_ratios`): sample i of the
//! build over sample i of its reference, the block's figure the median of
//! these ratios. A round is still the bootstrap's unit.
//!
//! The measurements behind both choices are in docs/measurements.md,
//! "Why rounds, and why paired blocks".
//!
//! **Three-way verdict** (Chromium Pinpoint answers DIFFERENT / SAME /
//! UNKNOWN and samples more on UNKNOWN): with the limit L (1 + the allowed
//! regression) and the interval [lo, hi] of the ratio:
//! regressed when the point estimate exceeds L *and* lo > 1 (the change is
//! beyond the limit and the interval excludes no change); unchanged when
//! hi <= L (whatever the change is, it is within the limit with 95 %
//! confidence); otherwise inconclusive, and the gate adds blocks within its
//! time budget before it reports a warn. The budget goes to the keys
//! cheapest to decide first (`extension_order`), and when none can be
//! decided in what is left, to narrowing the rest: an interval is taken to
//! narrow as 1/sqrt(blocks) around its point (the usual rate of a
//! bootstrap interval of a median of rounds), so a key needs
//! (half-width / distance to the line it must clear)^2 times its blocks
//! (`blocks_factor_to_decide`), at the seconds its rounds took so far.
//! Round-robin gave every undecided key one round per pass, so a key that
//! needed five times its blocks took the rounds a key one round short of
//! deciding could have used. (An estimator of the block p95 with less
//! variance, Harrell-Davis, did not help here: on 13 A/A comparisons of one
//! run its intervals were as wide as the mid-quantile's, median width ratio
//! 1.00, range 0.67-1.48; the rounds' spread is the host's, not the
//! estimator's. docs/measurements.md, "Deciding more keys".) Relative metrics (a `%` overhead)
//! use a difference in percentage points instead, with 0 as no change.
//!
//! **Bands.** Whether a timing sits in a warn band is decided with its own
//! interval: above when lo > line, below when hi <= line, and otherwise it
//! straddles the line, which is reported in words and never escalates.

mod bootstrap;
mod heap;
mod histogram;
mod verdict;

pub use bootstrap::*;
pub use heap::*;
pub use histogram::*;
pub use verdict::*;

/// Median of a non-empty list.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Nearest-rank quantile of raw samples (reorders `v`): the smallest sample
/// with at least a fraction `q` of samples at or below it, the definition
/// HdrHistogram uses.
pub fn quantile_in_place(v: &mut [f64], q: f64) -> f64 {
    assert!(!v.is_empty(), "quantile of no samples");
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    let (_, x, _) = v.select_nth_unstable_by(rank, |a, b| {
        a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal)
    });
    *x
}

/// SplitMix64: a tiny, well-mixed generator, so replicates are reproducible
/// without a dependency.
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n (n > 0); the modulo bias is below 2^-40 for our n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    // Heap growth: fixed series.
    #[test]
    fn a_leak_is_growing_and_a_steady_heap_is_not() {
        const MIB: f64 = 1024.0 * 1024.0;
        // A leak: wasm memory 1.5 -> 2.9 MiB over 500 operations, in
        // 64 KiB page steps.
        let leak: Vec<f64> = (0..500)
            .map(|i| 1.5 * MIB + ((i as f64 * 1.4 * MIB / 500.0) / 65536.0).floor() * 65536.0)
            .collect();
        let (q, per_op, rising) = seed_growth(&leak).unwrap();
        assert!(rising && q[3] > q[0] + MIB, "{q:?}");
        assert!(
            (per_op * 100.0 / 1024.0 - 287.0).abs() < 15.0,
            "{} KiB per 100 ops",
            per_op * 100.0 / 1024.0
        );
        // Steady: flat with seeded noise of a few KiB, and one late page step.
        let mut x = 7u64;
        let steady: Vec<f64> = (0..500)
            .map(|i| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                2.0 * MIB + (x >> 40) as f64 % 8192.0 + if i > 400 { 65536.0 } else { 0.0 }
            })
            .collect();
        assert!(!seed_growth(&steady).unwrap().2);
        // Linear memory alone, as Firefox read a leak of ~50 KiB per 100
        // operations: steps of 1, 1 and 2 pages, quarter medians 20, 20,
        // 23, 23 pages. Rising step after step: a leak.
        let page = 65536.0;
        let stepped: Vec<f64> = (0..500)
            .map(|i| match i {
                0..=60 => 19.0,
                61..=190 => 20.0,
                191..=315 => 21.0,
                _ => 23.0,
            } * page)
            .collect();
        let (q, _, rising) = seed_growth(&stepped).unwrap();
        assert!(rising && q[1] == q[0], "{q:?}");
        // Two steps of a page are the allocator taking pages, not a leak.
        let two: Vec<f64> = (0..500)
            .map(|i| (20.0 + (i > 150) as u8 as f64 + (i > 350) as u8 as f64) * page)
            .collect();
        assert!(!seed_growth(&two).unwrap().2);
        // A slow monotone drift below two pages is not a leak either.
        let drift: Vec<f64> = (0..500).map(|i| 2.0 * MIB + i as f64 * 100.0).collect();
        assert!(!seed_growth(&drift).unwrap().2);
        let g = heap_growth(
            &[leak.clone(), leak.clone(), steady.clone()],
            &[("wasm memory".into(), vec![leak.clone()])],
        )
        .unwrap();
        assert!(g.growing() && g.growing_seeds == 2 && g.seeds == 3 && g.window_ops == 500);
        assert_eq!(g.parts[0].0, "wasm memory");
        let g = heap_growth(&[leak, steady.clone(), steady], &[]).unwrap();
        assert!(!g.growing(), "one rising seed of three is not most");
        assert!(heap_growth(&[vec![1.0; 4]], &[]).is_none());
    }

    use super::*;

    #[test]
    fn p95_of_1_to_100() {
        let s: Vec<f64> = (1..=100).map(|i| i as f64).collect();
        let h = histogram_of(&s).unwrap();
        // Exact to HdrHistogram's 3 significant digits.
        assert!((p95(&h) - 95.0).abs() / 95.0 < 1e-3, "{}", p95(&h));
    }

    #[test]
    fn median_odd_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn encode_decode_merge_is_exact() {
        let a = histogram_of(&[1.0, 2.0, 3.0]).unwrap();
        let b = histogram_of(&[10.0, 20.0]).unwrap();
        let a2 = decode(&encode(&a).unwrap()).unwrap();
        assert_eq!(a2, a);
        let m = merge(&[a, b]).unwrap();
        assert_eq!(m.len(), 5);
        let all = histogram_of(&[1.0, 2.0, 3.0, 10.0, 20.0]).unwrap();
        assert_eq!(m, all);
    }

    #[test]
    fn negative_samples_record_as_zero() {
        let h = histogram_of(&[-3.0, 1.0]).unwrap();
        assert_eq!(h.min(), 0);
    }

    fn arm(seeds: &[&[&[f64]]]) -> ArmSamples {
        ArmSamples {
            seeds: seeds
                .iter()
                .map(|s| s.iter().map(|b| b.to_vec()).collect())
                .collect(),
        }
    }

    /// A deterministic "noisy" block: values spread around `centre` (+-10 %).
    fn block(centre: f64, salt: u64, n: usize) -> Vec<f64> {
        let mut r = SplitMix::new(salt);
        (0..n)
            .map(|_| centre * (0.9 + 0.2 * (r.next_u64() % 1000) as f64 / 1000.0))
            .collect()
    }

    fn arm_of(centre: f64, salt: u64) -> ArmSamples {
        ArmSamples {
            seeds: (0..5)
                .map(|s| {
                    (0..4)
                        .map(|b| block(centre, salt * 100 + s * 10 + b, 200))
                        .collect()
                })
                .collect(),
        }
    }

    #[test]
    fn nearest_rank_quantile_matches_hdrhistogram() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile_in_place(&mut v, 0.95), 95.0);
        assert_eq!(quantile_in_place(&mut v, 0.5), 50.0);
        let mut one = vec![7.0];
        assert_eq!(quantile_in_place(&mut one, 0.95), 7.0);
    }

    #[test]
    fn mid_quantile_is_the_usual_quantile_without_ties() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        // F_mid(j) = (j - 0.5) / 100: the median is halfway between 50 and 51.
        assert_eq!(mid_quantile(&v, 0.5), 50.5);
        assert!((mid_quantile(&v, 0.95) - 95.5).abs() < 1e-9);
        assert_eq!(mid_quantile(&[3.0, 1.0, 2.0], 0.5), 2.0);
        assert_eq!(mid_quantile(&[7.0], 0.95), 7.0);
        // Beyond the outer mid-points: the extreme values.
        assert_eq!(mid_quantile(&[1.0, 2.0], 0.01), 1.0);
        assert_eq!(mid_quantile(&[1.0, 2.0], 0.99), 2.0);
    }

    #[test]
    fn mid_quantile_moves_with_the_share_of_tied_samples() {
        // Samples on a clock grid (steps of 1): 100 samples, k of them one
        // step up. The nearest-rank median stays at 10 until half moved,
        // then jumps a whole step; the mid-quantile moves by a share.
        let grid =
            |k: usize| -> Vec<f64> { (0..100).map(|i| if i < k { 11.0 } else { 10.0 }).collect() };
        let mids: Vec<f64> = [10, 30, 45, 55, 70]
            .iter()
            .map(|&k| mid_quantile(&grid(k), 0.5))
            .collect();
        assert!(mids.windows(2).all(|w| w[0] < w[1]), "{mids:?}");
        let ranks: Vec<f64> = [10, 30, 45]
            .iter()
            .map(|&k| quantile_in_place(&mut grid(k), 0.5))
            .collect();
        assert_eq!(ranks, vec![10.0, 10.0, 10.0]);
        // Half of the samples on each point: the midpoint.
        assert_eq!(mid_quantile(&grid(50), 0.5), 10.5);
        // 30 of 100 up: F_mid(10) = 0.35, F_mid(11) = 0.85 -> 10 + 0.15 / 0.5.
        assert!((mid_quantile(&grid(30), 0.5) - 10.3).abs() < 1e-9);
    }

    #[test]
    fn gate_stat_is_median_of_seed_p95s_over_pooled_blocks() {
        // Seed 0 pools [1..=10] and [11..=20] -> p95 = 19; seed 1 -> 5; seed 2 -> 100.
        let a = arm(&[
            &[
                &[1., 2., 3., 4., 5., 6., 7., 8., 9., 10.],
                &[11., 12., 13., 14., 15., 16., 17., 18., 19., 20.],
            ],
            &[&[5.0]],
            &[&[100.0]],
        ]);
        assert_eq!(a.seed_stat(0, Statistic::P95), Some(19.0));
        assert_eq!(a.gate_stat(Statistic::P95), Some(19.0));
        assert_eq!(a.gate_stat(Statistic::Median), Some(10.0));
    }

    #[test]
    fn bootstrap_of_identical_arms_brackets_one_and_is_reproducible() {
        let a = arm_of(1.0, 1);
        let b = arm_of(1.0, 2);
        let ratio = |s: &[f64]| s[0] / s[1];
        let ci = hierarchical_bootstrap(&[&a, &b], Statistic::P95, 500, 42, &ratio).unwrap();
        assert!(ci.lo < 1.0 && ci.hi > 1.0 - 1e-9, "{ci:?}");
        assert!(
            ci.hi - ci.lo < 0.05,
            "+-10 % noise over 4000 samples: a tight interval {ci:?}"
        );
        let again = hierarchical_bootstrap(&[&a, &b], Statistic::P95, 500, 42, &ratio).unwrap();
        assert_eq!(ci, again);
        assert_eq!(ab_verdict(&ci, 1.0, 1.10), AbVerdict::Unchanged);
    }

    #[test]
    fn bootstrap_sees_a_15_percent_slowdown_as_regressed() {
        let base = arm_of(1.0, 3);
        let cand = arm_of(1.15, 4);
        let ci = hierarchical_bootstrap(&[&cand, &base], Statistic::P95, 500, 7, &|s: &[f64]| {
            s[0] / s[1]
        })
        .unwrap();
        assert!((ci.point - 1.15).abs() < 0.02, "{ci:?}");
        assert!(ci.lo > 1.10, "{ci:?}");
        assert_eq!(ab_verdict(&ci, 1.0, 1.10), AbVerdict::Regressed);
    }

    #[test]
    fn one_disturbed_seed_widens_the_interval_instead_of_moving_the_verdict() {
        let base = arm_of(1.0, 5);
        let mut cand = arm_of(1.0, 6);
        // Seed 2 of the candidate ran while something else loaded the machine.
        cand.seeds[2] = (0..4).map(|b| block(1.6, 900 + b, 200)).collect();
        let ci =
            hierarchical_bootstrap(&[&cand, &base], Statistic::P95, 1000, 9, &|s: &[f64]| {
                s[0] / s[1]
            })
            .unwrap();
        assert!(
            ci.point < 1.03,
            "the median over seeds ignores one bad seed: {ci:?}"
        );
        assert_ne!(ab_verdict(&ci, 1.0, 1.10), AbVerdict::Regressed, "{ci:?}");
    }

    /// Two arms over rounds of host levels (1.0 or 1.6: the two block
    /// levels measured for the replay overhead), the first arm a true
    /// `overhead` dearer. `cand` and `reference` give each round's level per
    /// seed for each arm: mostly the same level in a round, as measured.
    fn level_arms(
        cand: &[&[f64]],
        reference: &[&[f64]],
        overhead: f64,
    ) -> (ArmSamples, ArmSamples) {
        let make = |levels: &[&[f64]], factor: f64, salt: u64| ArmSamples {
            seeds: levels
                .iter()
                .enumerate()
                .map(|(s, l)| {
                    l.iter()
                        .enumerate()
                        .map(|(b, &level)| {
                            block(50.0 * level * factor, salt + (s * 100 + b) as u64 * 2, 125)
                        })
                        .collect()
                })
                .collect(),
        };
        (make(cand, 1.0 + overhead, 0), make(reference, 1.0, 1))
    }

    const SLOW: f64 = 1.6;

    #[test]
    fn paired_rounds_cancel_a_level_both_arms_share() {
        // Per seed, 8 rounds. Seed 1 is the measured seed 11: five slow
        // rounds, then three fast, except that the reference's fifth block
        // already ran fast.
        let shared: [&[f64]; 5] = [
            &[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
            &[SLOW, SLOW, SLOW, SLOW, SLOW, 1.0, 1.0, 1.0],
            &[1.0, SLOW, SLOW, 1.0, SLOW, 1.0, 1.0, 1.0],
            &[SLOW, SLOW, SLOW, SLOW, SLOW, SLOW, SLOW, SLOW],
            &[1.0, 1.0, SLOW, 1.0, 1.0, 1.0, 1.0, SLOW],
        ];
        let mut reference = shared;
        reference[1] = &[SLOW, SLOW, SLOW, SLOW, 1.0, 1.0, 1.0, 1.0];
        let (cand, refr) = level_arms(&shared, &reference, 0.04);
        let overhead = |s: &[f64]| (s[0] / s[1] - 1.0) * 100.0;
        let ci = paired_bootstrap(&[&cand, &refr], Statistic::Median, 1000, 3, &overhead).unwrap();
        assert!((ci.point - 4.0).abs() < 1.5, "{ci:?}");
        assert!(ci.lo > 0.0 && ci.hi < 8.0, "{ci:?}");
        assert_eq!(
            paired_bootstrap(&[&cand, &refr], Statistic::Median, 1000, 3, &overhead),
            Some(ci),
            "reproducible"
        );
        // Pooling each arm's blocks per seed reads seed 1 far off: the
        // candidate's median lands in the slow level, the reference's in
        // the fast one.
        let pooled = overhead(&[
            cand.seed_stat(1, Statistic::Median).unwrap(),
            refr.seed_stat(1, Statistic::Median).unwrap(),
        ]);
        assert!(pooled > 30.0, "pooled seed 1 reads {pooled} %");
        let paired_seed_1 = quantile_in_place(
            &mut round_figures(&[&cand, &refr], 1, Statistic::Median, &overhead),
            0.5,
        );
        assert!(
            (paired_seed_1 - 4.0).abs() < 2.0,
            "paired seed 1 reads {paired_seed_1} %"
        );
        // With no overhead, the interval holds zero and is narrow.
        let (c0, r0) = level_arms(&shared, &shared, 0.0);
        let ci0 = paired_bootstrap(&[&c0, &r0], Statistic::Median, 1000, 3, &overhead).unwrap();
        assert!(
            ci0.lo <= 0.0 && ci0.hi >= 0.0 && ci0.hi - ci0.lo < 4.0,
            "{ci0:?}"
        );
    }

    #[test]
    fn a_comparison_by_rounds_sees_through_slow_spells_both_ways() {
        // Cold init, A/A: the host's slow spells hit both arms of most
        // rounds; in two rounds only one arm's block ran slow.
        let base: [&[f64]; 5] = [
            &[1.0, 1.0, SLOW, SLOW, 1.0, 1.0, 1.0, 1.0],
            &[SLOW, SLOW, SLOW, 1.0, 1.0, 1.0, SLOW, 1.0],
            &[1.0, 1.0, 1.0, 1.0, 1.0, SLOW, SLOW, SLOW],
            &[1.0, SLOW, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
            &[SLOW, SLOW, SLOW, SLOW, 1.0, 1.0, 1.0, 1.0],
        ];
        let mut cand = base;
        cand[1] = &[SLOW, SLOW, SLOW, SLOW, 1.0, 1.0, SLOW, 1.0];
        cand[4] = &[SLOW, SLOW, SLOW, SLOW, SLOW, 1.0, 1.0, 1.0];
        let ratio = |s: &[f64]| s[0] / s[1];
        let (c, b) = level_arms(&cand, &base, 0.0);
        let paired = paired_bootstrap(&[&c, &b], Statistic::P95, 1000, 5, &ratio).unwrap();
        assert_eq!(
            ab_verdict(&paired, 1.0, 1.10),
            AbVerdict::Unchanged,
            "{paired:?}"
        );
        // Pooled per arm, the two odd blocks move those seeds' p95s and the
        // interval reaches past the limit.
        let pooled = hierarchical_bootstrap(&[&c, &b], Statistic::P95, 1000, 5, &ratio).unwrap();
        assert!(
            pooled.hi - pooled.lo > 2.0 * (paired.hi - paired.lo),
            "pooled {pooled:?} vs paired {paired:?}"
        );
        // A real +15 % in the same weather is regressed.
        let (c15, b15) = level_arms(&cand, &base, 0.15);
        let slow = paired_bootstrap(&[&c15, &b15], Statistic::P95, 1000, 5, &ratio).unwrap();
        assert!((slow.point - 1.15).abs() < 0.03, "{slow:?}");
        assert_eq!(
            ab_verdict(&slow, 1.0, 1.10),
            AbVerdict::Regressed,
            "{slow:?}"
        );
    }

    #[test]
    fn a_histogram_median_takes_the_midpoint_of_an_even_count() {
        let h = histogram_of(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]).unwrap();
        assert!(
            (statistic_of(&h, Statistic::Median) - 4.5).abs() < 0.01,
            "{}",
            statistic_of(&h, Statistic::Median)
        );
        assert!((statistic_of(&h, Statistic::P95) - 8.0).abs() < 0.01);
        let odd = histogram_of(&[3.0, 1.0, 2.0]).unwrap();
        assert!((statistic_of(&odd, Statistic::Median) - 2.0).abs() < 0.01);
        // Repeated values: ranks 3 and 4 of [1, 1, 1, 1, 9, 9, 9, 9].
        let tie = histogram_of(&[1.0, 1.0, 1.0, 1.0, 9.0, 9.0, 9.0, 9.0]).unwrap();
        assert!((statistic_of(&tie, Statistic::Median) - 5.0).abs() < 0.01);
        let single = histogram_of(&[7.0]).unwrap();
        assert!((statistic_of(&single, Statistic::Median) - 7.0).abs() < 0.01);
    }

    #[test]
    fn an_overhead_is_read_sample_by_sample_within_the_block() {
        // One block of seven ABBA rounds: the host turns twice as slow
        // between the reference's sample 3 and the build's (the two sides
        // of round 3 straddle the change), the build is 5 % slower
        // throughout, give or take its own noise.
        let level_ref = [1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0];
        let level_build = [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0];
        let noise = [1.0, 1.01, 0.99, 1.0, 1.02, 0.98, 1.03];
        let build: Vec<f64> = (0..7).map(|i| 1.05 * level_build[i] * noise[i]).collect();
        let (build, reference) = (arm(&[&[&build]]), arm(&[&[&level_ref]]));
        let ratios = paired_ratios(&build, &reference);
        let per_round = &ratios.seeds[0][0];
        assert_eq!(per_round.len(), 7);
        assert!((per_round[3] - 52.5).abs() < 1e-9, "{per_round:?}");
        // The block's median ratio is the 5 %; the ratio of its sides'
        // medians (one in each level) is far below zero.
        let paired = block_stat(per_round, Statistic::Median).unwrap() - 100.0;
        assert!((paired - 5.0).abs() < 1e-9, "{paired}");
        let of_medians = (block_stat(&build.seeds[0][0], Statistic::Median).unwrap()
            / block_stat(&level_ref, Statistic::Median).unwrap()
            - 1.0)
            * 100.0;
        assert!(of_medians < -25.0, "{of_medians}");
        // Unequal blocks are cut to the shorter; a zero reference is dropped.
        let cut = paired_ratios(&arm(&[&[&[2.0, 3.0, 4.0]]]), &arm(&[&[&[1.0, 0.0]]]));
        assert_eq!(cut.seeds[0][0], vec![200.0]);
    }

    #[test]
    fn paired_rounds_use_the_rounds_every_arm_ran() {
        let a = arm(&[&[&[2.0], &[4.0], &[9.0]]]);
        let b = arm(&[&[&[1.0], &[2.0]]]);
        assert_eq!(
            round_figures(&[&a, &b], 0, Statistic::P95, &|s| s[0] / s[1]),
            vec![2.0, 2.0]
        );
        let empty = arm(&[&[]]);
        assert_eq!(
            paired_bootstrap(&[&a, &empty], Statistic::P95, 10, 1, &|s| s[0] / s[1]),
            None
        );
    }

    #[test]
    fn three_way_rule_table() {
        let i = |point, lo, hi| Interval { point, lo, hi };
        use AbVerdict::*;
        // (interval, expected) with limit 1.10 and no change at 1.
        let rows = [
            (i(1.15, 1.12, 1.18), Regressed),
            (i(1.15, 1.01, 1.30), Regressed), // beyond the limit, excludes 1
            (i(1.15, 0.98, 1.30), Inconclusive), // includes no change
            (i(1.05, 0.99, 1.12), Inconclusive), // might be beyond the limit
            (i(1.02, 0.97, 1.08), Unchanged),
            (i(0.80, 0.75, 0.85), Unchanged), // faster
            (i(1.10, 1.05, 1.10), Unchanged), // exactly at the limit passes
        ];
        for (k, (ci, want)) in rows.iter().enumerate() {
            assert_eq!(ab_verdict(ci, 1.0, 1.10), *want, "row {k}: {ci:?}");
        }
        // Percentage points: no change at 0, limit 3 pp.
        assert_eq!(ab_verdict(&i(5.0, 1.0, 9.0), 0.0, 3.0), Regressed);
        assert_eq!(ab_verdict(&i(1.0, -2.0, 2.5), 0.0, 3.0), Unchanged);
    }

    #[test]
    fn band_rule() {
        let i = |point, lo, hi| Interval { point, lo, hi };
        assert_eq!(band(&i(9.0, 8.5, 9.5), 8.0), Band::Above);
        assert_eq!(band(&i(7.0, 6.5, 8.0), 8.0), Band::Below);
        assert_eq!(band(&i(8.1, 7.9, 8.3), 8.0), Band::Straddles);
    }

    #[test]
    fn a_straddle_is_extended_only_when_more_blocks_can_clear_it() {
        let i = |point, lo, hi| Interval { point, lo, hi };
        // Half-width 2, 1.5 from the line: (2/1.5)^2 = 1.8x the blocks.
        assert!(straddle_can_close(&i(13.5, 11.5, 15.5), 12.0));
        // The replay overhead seen in CI: 11.87 % in [-6.47, 33.04] against
        // a 12 % line would need about 23000x the blocks.
        assert!(!straddle_can_close(&i(11.87, -6.47, 33.04), 12.0));
        // Exactly on the line: no amount of data moves it off.
        assert!(!straddle_can_close(&i(12.0, 11.0, 13.0), 12.0));
        // Half-width 2, 1.0 away: 4x the blocks.
        assert!(!straddle_can_close(&i(13.0, 11.0, 15.0), 12.0));
    }

    #[test]
    fn the_blocks_a_comparison_needs_to_be_decided() {
        let i = |point, lo, hi| Interval { point, lo, hi };
        let f = |ci: &Interval| blocks_factor_to_decide(ci, 1.0, 1.10).unwrap();
        // Cold init in an A/A run (02B core-min): x1.018 [x0.934, x1.202].
        // Unchanged needs the upper end 0.184 above the point brought to
        // 0.082: (0.184 / 0.082)^2 = 5.0x the blocks.
        assert!((f(&i(1.018, 0.934, 1.202)) - 5.03).abs() < 0.01);
        // Nearly there: x1.002 [x0.98, x1.11] needs (0.108 / 0.098)^2 = 1.2x.
        assert!((f(&i(1.002, 0.98, 1.11)) - 1.214).abs() < 0.01);
        // Beyond the limit, regressed is the nearer decision: the lower end
        // (0.10 below the point) must clear 1 (0.15 below): already would.
        assert_eq!(f(&i(1.15, 1.05, 1.30)), 1.0);
        assert!((f(&i(1.15, 0.95, 1.30)) - (0.20f64 / 0.15).powi(2)).abs() < 1e-9);
        // On the limit: nothing to decide by more data.
        assert_eq!(blocks_factor_to_decide(&i(1.10, 1.0, 1.2), 1.0, 1.10), None);
        // A difference in points (no change = 0, limit +3 pp).
        assert!(
            (blocks_factor_to_decide(&i(1.0, -2.0, 5.0), 0.0, 3.0).unwrap() - 4.0).abs() < 1e-9
        );
        // A warn line: half-width 2, 1.0 away.
        assert_eq!(
            blocks_factor_to_clear(&i(13.0, 11.0, 15.0), 12.0),
            Some(4.0)
        );
    }

    #[test]
    fn the_extension_goes_to_the_keys_cheapest_to_decide() {
        // Seconds each undecided key would need; 60 s of budget left.
        let needs = [
            (0, Some(90.0)),
            (1, Some(12.0)),
            (2, None),
            (3, Some(400.0)),
            (4, Some(30.0)),
            (5, Some(12.0)),
        ];
        // Cheapest first (ties by key); more blocks cannot decide key 2;
        // key 3 needs more than twice what is left, so it waits.
        assert_eq!(extension_order(&needs, 60.0), (vec![1, 5, 4, 0], true));
        assert_eq!(extension_order(&needs, 10.0), (vec![1, 5], true));
        // None can close in 1 s: what is left narrows them all, cheapest
        // first, rather than going unspent (key 2 still gets nothing).
        assert_eq!(extension_order(&needs, 1.0), (vec![1, 5, 4, 0, 3], false));
        assert_eq!(extension_order(&[(2, None)], 60.0), (vec![], false));
    }
}
