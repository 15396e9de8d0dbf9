//! The reduction of one task: its samples to the gate value (the median of
//! per-seed statistics), its interval, the clock check, the heap trend,
//! and the live comparison with the base, each with its reasons in words.

use super::arms::{Arm, Role, TaskState};
use super::{gate_value, seed_value, Measurer, MetricResult, Quantity};
use crate::artifacts::Base;
use crate::config::{Config, Source};
use crate::stats;
use crate::summary::Comparison;
use anyhow::{anyhow, bail, Result};
use std::borrow::Cow;

/// An arm as the statistics read it: its samples, or for a relative metric
/// its per-round ratios to its reference (`stats::paired_ratios`).
fn view<'a>(arm: &'a Arm, reference: Option<&Arm>) -> Cow<'a, stats::ArmSamples> {
    match reference {
        None => Cow::Borrowed(&arm.samples),
        Some(r) => Cow::Owned(stats::paired_ratios(&arm.samples, &r.samples)),
    }
}

/// Reduce one task's samples to its figure, interval and comparison.
/// Long by design: it is the protocol's reduction read top to bottom (per
/// seed, then the gate value, its interval, the clock check, the heap
/// trend, the comparison, the method text), each step using the last.
pub(super) fn reduce(
    cfg: &Config,
    st: &TaskState,
    base: Option<&Base>,
    m: &dyn Measurer,
) -> Result<MetricResult> {
    let task = st.task;
    let metric = &task.metric;
    let stat = metric.statistic;
    let seeds = &cfg.protocol.seeds;
    let cand = st.arm(Role::Candidate).expect("candidate arm");
    let reference = st.arm(Role::Reference);
    let rng_seed = 0x5eed ^ st.index as u64;

    // Per seed: the figure, and the histogram of what it was computed from
    // (relative metrics: one value per round, this build's block statistic
    // in percent of the reference block's of the same round, so the
    // histogram's median minus 100 is the seed's overhead; see `stats/`
    // on paired rounds).
    // The per-seed value is read off the histogram (not the raw samples),
    // so a merge of shards recomputes exactly the same figure.
    let offset = if reference.is_some() { -100.0 } else { 0.0 };
    // A relative metric's arm is read through its per-round ratios to its
    // reference (`view`): sample i of each side ran next to the other's, in
    // one block. Read once here; the comparison with the base uses the same.
    let relative = reference.is_some();
    let seed_samples = |arm: &Arm, v: &stats::ArmSamples, si: usize| -> Result<Vec<f64>> {
        let seed = seeds[si];
        if v.seeds[si].iter().all(Vec::is_empty) {
            bail!(
                "{}: seed {seed} has no {} samples",
                task.key(),
                arm.role.label()
            );
        }
        Ok(if relative {
            let rounds = stats::round_figures(&[v], si, stat, &|s| s[0]);
            if rounds.is_empty() {
                bail!(
                    "{}: seed {seed} has no round in which both the {} build and its reference ran",
                    task.key(),
                    arm.role.label()
                );
            }
            rounds
        } else {
            v.seeds[si].iter().flatten().copied().collect()
        })
    };
    let cand_view = view(cand, reference);
    // The base, read the same way; None when it cannot be compared.
    let base_view = match (st.arm(Role::Base), &st.base_excluded) {
        (Some(b), None) if !relative || st.arm(Role::BaseReference).is_some() => {
            Some((b, view(b, st.arm(Role::BaseReference))))
        }
        _ => None,
    };
    let mut per_seed = Vec::new();
    let mut hists = Vec::new();
    for (si, &seed) in seeds.iter().enumerate() {
        let h = stats::histogram_of(&seed_samples(cand, &cand_view, si)?)?;
        per_seed.push(seed_value(seed, &h, stat, offset)?);
        hists.push(h);
    }
    // The base's distribution, the same way, for the report's overlay.
    let base_histogram = base_view.as_ref().and_then(|(b, bv)| {
        (0..seeds.len())
            .map(|si| seed_samples(b, bv, si).and_then(|v| stats::histogram_of(&v)))
            .collect::<Result<Vec<_>>>()
            .and_then(|hs| stats::merge(&hs))
            .and_then(|h| stats::encode(&h))
            .ok()
    });
    let value = gate_value(&per_seed).ok_or_else(|| anyhow!("no seeds configured"))?;
    let value_ci = match reference {
        None => stats::hierarchical_bootstrap(
            &[&cand.samples],
            stat,
            stats::REPLICATES,
            rng_seed,
            &|s| s[0],
        ),
        Some(_) => stats::paired_bootstrap(
            &[&*cand_view],
            stat,
            stats::REPLICATES,
            rng_seed,
            &overhead_pct,
        ),
    }
    // The bootstrap reads raw samples and the value is read off the
    // histograms (3 significant digits), so the two can differ by one
    // bucket; the reported interval is the one around the reported value.
    .map(|ci| stats::Interval {
        point: value,
        lo: ci.lo.min(value),
        hi: ci.hi.max(value),
    });

    // Clock floor: the smallest timed statistic behind the figure, in ticks
    // of the page's clock (per operation for batched samples).
    let tick_ms = m
        .timer_resolution_ms(&metric.environment)
        .filter(|t| *t > 0.0);
    let timed = !metric.is_heap();
    let (resolution_in_unit, clock_ticks) = match (tick_ms, timed) {
        (Some(tick), true) => {
            let unit = if metric.is_relative() {
                "ms"
            } else {
                metric.unit.as_str()
            };
            let tick_in_unit = Quantity::TimeMs.to_unit(tick, unit);
            let ticks = std::iter::once(cand)
                .chain(reference)
                .filter_map(|a| {
                    a.samples
                        .gate_stat(stat)
                        .map(|v| v / (tick_in_unit / a.typical_ops() as f64))
                })
                .fold(f64::INFINITY, f64::min);
            // Relative metrics: the tick of the timed samples behind them, in ms.
            let res = Some(tick_in_unit / cand.typical_ops() as f64);
            (res, ticks.is_finite().then_some(ticks))
        }
        _ => (None, None),
    };

    let comparison = base.map(|b| {
        compare(
            cfg,
            st,
            b,
            &cand_view,
            base_view.as_ref().map(|(_, v)| &**v),
            rng_seed ^ 0xab,
        )
    });
    let (heap_growth, parts_text) = if metric.is_heap() {
        heap_check(cand, &metric.unit)
    } else {
        (None, String::new())
    };

    let ops = cand.typical_ops();
    let blocks_text = if metric.is_heap() {
        format!(
            "{} warmup operations, then {} heap samples per seed",
            task.warmup, task.iterations
        )
    } else {
        format!(
            "{} samples per seed in {} blocks of {}{}",
            task.iterations * st.rounds,
            st.rounds,
            task.iterations,
            if st.extended {
                " (extended: inconclusive after the protocol's blocks)"
            } else {
                ""
            }
        )
    } + &parts_text;
    let figure_text = match reference {
        None => format!("{} per seed; gate value = median of the per-seed {}s", stat.name(), stat.name()),
        Some(_) => format!(
            "per block, this build and the same profile built without {} alternate batch by batch (ABBA), so the host's state hits both alike and cancels; each of this build's samples is divided by the other build's sample of the same round (a millisecond apart), and the block's overhead is the {s} of these ratios, minus 1, in percent; per seed the median over blocks; gate value = median over seeds",
            metric.reference_without.as_deref().unwrap_or_default().join(", "),
            s = stat.name()
        ),
    };
    let env_text = match cfg.environments.get(&metric.environment) {
        Some(e) if e.cpu_throttle > 1.0 => format!(
            ", CDP CPU throttling calibrated to a {}x slowdown of a reference workload",
            e.cpu_throttle
        ),
        _ => String::new(),
    };
    let method = format!(
        "{}. {blocks_text}{}; {figure_text} over seeds {:?}; 95 % interval by {}; arms interleaved in a seeded random order per round; environment {}{env_text}",
        cand.note,
        if ops > 1 { format!(", each sample the mean of a batch of {ops} operations (calibrated by the first block, then fixed for every block and arm)") } else { String::new() },
        seeds,
        if reference.is_some() { "bootstrap of paired rounds (seeds, then rounds with both blocks kept together)" } else { "hierarchical bootstrap (seeds, blocks, samples)" },
        metric.environment,
    );
    let merged = stats::merge(&hists)?;
    let Source::Scenario(scenario) = &metric.source else {
        bail!("not a scenario")
    };
    Ok(MetricResult {
        value,
        value_ci,
        per_seed,
        histogram: stats::encode(&merged)?,
        method,
        commands: vec![format!(
            "cargo xtask budget --profile {} --env {} (scenario {scenario}.js, {})",
            task.profile,
            metric.environment,
            m.describe(&metric.environment)
        )],
        artifact_paths: vec![st.artifact.clone()],
        resolution_in_unit,
        clock_ticks,
        comparison,
        heap_growth,
        retried: st.retried.clone(),
        cost: Some(st.cost),
        fingerprint: None,
        statistic: stat,
        offset,
        base_histogram,
        identity: task.identity.as_ref().map(|i| i.candidate.clone()),
        reused: None,
    })
}

/// Heap metrics: the growth check over each seed's window (`stats::
/// heap_growth`, in bytes), and the parts of the figure in words. A
/// seed's window is its last block: every block is a run of its own, in a
/// fresh realm, with its own warm-up, so two blocks end to end are two
/// steady states at two levels, not one series (an extended comparison's
/// second block read as "+24 KiB per 100 operations, 5 of 5 seeds" on a
/// pure function whose own block was flat). The parts are the last
/// block's too.
fn heap_check(cand: &Arm, unit: &str) -> (Option<stats::HeapGrowth>, String) {
    let per_byte = crate::size::bytes_in_unit(1.0, unit);
    let windows: Vec<Vec<f64>> = cand
        .samples
        .seeds
        .iter()
        .filter_map(|blocks| blocks.last())
        .map(|w| w.iter().map(|v| v / per_byte).collect())
        .collect();
    let mut names: Vec<String> = Vec::new();
    for (n, _) in cand.parts.iter().flatten() {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    let parts: Vec<(String, Vec<Vec<f64>>)> = names
        .iter()
        .map(|n| {
            (
                n.clone(),
                cand.parts
                    .iter()
                    .filter_map(|seed| seed.iter().find(|(m, _)| m == n).map(|(_, v)| v.clone()))
                    .collect(),
            )
        })
        .collect();
    let growth = stats::heap_growth(&windows, &parts);
    let p95s: Vec<String> = parts
        .iter()
        .map(|(n, seeds)| {
            let per_seed: Vec<f64> = seeds
                .iter()
                .filter(|s| !s.is_empty())
                .map(|s| stats::quantile_in_place(&mut s.clone(), 0.95) * per_byte)
                .collect();
            format!(
                "{n} p95 {:.3} {unit}",
                stats::median(&per_seed).unwrap_or(f64::NAN)
            )
        })
        .collect();
    let mut text = String::new();
    if !p95s.is_empty() {
        text.push_str(&format!(
            " (of which, medians over seeds: {})",
            p95s.join(", ")
        ));
    }
    if let Some(g) = &growth {
        text.push_str(&format!(
            "; steady state checked: {} of {} seeds rise through all four quarters of the window or step up at least three times ({:+.1} KiB per 100 operations; growing when most seeds rise by at least 128 KiB)",
            g.growing_seeds,
            g.seeds,
            g.bytes_per_100_ops / 1024.0
        ));
    }
    (growth, text)
}

/// An overhead in percent from the block statistic of a build's per-round
/// ratios to its reference (kept in percent of the reference).
fn overhead_pct(s: &[f64]) -> f64 {
    s[0] - 100.0
}

/// The live comparison of one task with its base.
/// `cand` and `base` are the arms as `reduce` reads them (a relative
/// metric's: its per-round ratios to the reference).
fn compare(
    cfg: &Config,
    st: &TaskState,
    b: &Base,
    cand: &stats::ArmSamples,
    base: Option<&stats::ArmSamples>,
    rng_seed: u64,
) -> Comparison {
    let metric = &st.task.metric;
    let stat = metric.statistic;
    let relative = metric.is_relative();
    let mut c = not_compared(cfg, metric, &b.origin);
    c.blocks = st.rounds;
    c.extended = st.extended;
    let no_change = if relative { 0.0 } else { 1.0 };
    if let Some(why) = &st.base_excluded {
        c.reason = format!("not comparable: {why}");
        return c;
    }
    if let Some(id) = st.task.identity.as_ref().filter(|i| i.identical()) {
        return identical(c, id);
    }
    if st.arm(Role::Base).is_none() {
        c.reason = "not comparable: the base has no artifact for this profile".into();
        return c;
    }
    let Some(base) = base.filter(|_| !relative || st.arm(Role::Reference).is_some()) else {
        c.reason = "not comparable: a reference build is missing".into();
        return c;
    };
    let (estimate, base_value, base_per_seed) = if relative {
        // Both overheads in percent of their references, round by round.
        let est = stats::paired_bootstrap(&[cand, base], stat, stats::REPLICATES, rng_seed, &|s| {
            s[0] - s[1]
        });
        let per: Vec<f64> = (0..base.seeds.len())
            .filter_map(|i| stats::median(&stats::round_figures(&[base], i, stat, &overhead_pct)))
            .collect();
        (est, stats::median(&per), per)
    } else {
        let est = stats::paired_bootstrap(&[cand, base], stat, stats::REPLICATES, rng_seed, &|s| {
            s[0] / s[1]
        });
        let per: Vec<f64> = (0..base.seeds.len())
            .filter_map(|i| base.seed_stat(i, stat))
            .collect();
        (est, base.gate_stat(stat), per)
    };
    c.base_value = base_value;
    c.base_per_seed = base_per_seed;
    let Some(est) = estimate else {
        c.reason = "not comparable: too few samples for an interval".into();
        return c;
    };
    c.estimate = Some(est);
    c.min_detectable = stats::min_detectable(&est, no_change, c.limit, !relative);
    c.resolves_limit = Some(stats::resolves_limit(&est, no_change, c.limit, !relative));
    c.verdict = stats::ab_verdict(&est, no_change, c.limit);
    c.reason = explain(&c, &est, relative);
    c
}

/// A comparison of `metric` with base `origin` before anything is known:
/// not comparable, with its measure and limit (ratio, or percentage
/// points for a relative metric).
pub fn not_compared(cfg: &Config, metric: &crate::config::MetricSpec, origin: &str) -> Comparison {
    let (measure, limit) = if metric.is_relative() {
        ("difference_pp", cfg.comparison.regression_pp)
    } else {
        (
            "ratio",
            1.0 + cfg.escalation.baseline_regression_pct / 100.0,
        )
    };
    Comparison {
        base: origin.to_string(),
        verdict: stats::AbVerdict::NotComparable,
        measure: measure.into(),
        base_value: None,
        estimate: None,
        limit,
        blocks: 0,
        extended: false,
        reason: String::new(),
        base_per_seed: vec![],
        identical_inputs: false,
        min_detectable: None,
        resolves_limit: None,
    }
}

/// The comparison of a key whose base would measure exactly the candidate's
/// inputs: unchanged by construction, and the base was not run.
pub fn identical(mut c: Comparison, id: &super::identity::Identity) -> Comparison {
    c.verdict = stats::AbVerdict::Unchanged;
    c.identical_inputs = true;
    c.blocks = 0;
    c.reason = format!(
        "unchanged: identical inputs ({}): base and candidate ship the same bytes to the same scenario, harness, browser and protocol, so the base was not measured",
        id.short()
    );
    c
}

/// The comparison in words.
pub fn explain(c: &Comparison, est: &stats::Interval, relative: bool) -> String {
    let fig = if relative {
        format!(
            "{:+.2} pp (95 % CI {:+.2} to {:+.2} pp)",
            est.point, est.lo, est.hi
        )
    } else {
        format!(
            "x{:.3} (95 % CI x{:.3} to x{:.3})",
            est.point, est.lo, est.hi
        )
    };
    let limit = if relative {
        format!("+{} pp", c.limit)
    } else {
        format!("x{:.2}", c.limit)
    };
    let blocks = format!(
        "{} block(s) per arm and seed{}",
        c.blocks,
        if c.extended { ", extended" } else { "" }
    );
    match c.verdict {
        stats::AbVerdict::Regressed => format!("regressed against {}: {fig}; beyond the limit {limit} and the interval excludes no change ({blocks})", c.base),
        stats::AbVerdict::Unchanged => format!("unchanged against {}: {fig}; the interval stays within the limit {limit} ({blocks})", c.base),
        stats::AbVerdict::Inconclusive => {
            format!("inconclusive against {}: {fig}; the interval spans both no change and the limit {limit} after {blocks}", c.base)
        }
        stats::AbVerdict::NotComparable => c.reason.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::Runnable;
    use std::path::PathBuf;

    /// A heap arm whose every block is flat, each at its own level.
    fn arm(blocks: &[Vec<f64>]) -> Arm {
        let mut samples = stats::ArmSamples::with_seeds(3);
        for seed in &mut samples.seeds {
            *seed = blocks.to_vec();
        }
        Arm {
            role: Role::Candidate,
            module: Runnable {
                wasm: PathBuf::new(),
                glue: None,
            },
            samples,
            ops: vec![1],
            note: String::new(),
            parts: vec![Vec::new(); 3],
        }
    }

    #[test]
    fn two_blocks_at_two_levels_are_not_a_growing_heap() {
        let mib = 1024.0 * 1024.0;
        // Each block creeps up 3 KiB over its window (far under the two
        // pages that count), and block 2 of an extended comparison sits
        // 256 KiB higher: a fresh realm.
        let block = |level: f64| {
            (0..400)
                .map(|i| level + i as f64 * 8.0)
                .collect::<Vec<f64>>()
        };
        let blocks = [block(2.0 * mib), block(2.25 * mib)];
        let (growth, _) = heap_check(&arm(&blocks), "B");
        let g = growth.unwrap();
        assert!(!g.growing(), "{g:?}");
        // Read end to end, the two blocks would look like a leak.
        let joined: Vec<f64> = blocks.concat();
        assert!(
            stats::heap_growth(&[joined.clone(), joined.clone(), joined], &[])
                .unwrap()
                .growing()
        );
        // A block that does grow still reads as growing.
        let rising: Vec<f64> = (0..400).map(|i| 2.0 * mib + i as f64 * 1024.0).collect();
        let (growth, _) = heap_check(&arm(&[block(2.0 * mib), rising]), "B");
        assert!(growth.unwrap().growing());
    }
}
