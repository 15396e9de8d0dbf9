//! The schedule of the measure stage: environments in turn, seed by seed
//! across an environment's tasks, every arm's block in each round in a
//! seeded random order, extension rounds for undecided keys, and the retry
//! of a failed run.

use super::arms::{arms_of, Role, TaskState};
use super::reduce::reduce;
use super::{
    EnvInfo, Measured, Measurer, MetricResult, Quantity, ScenarioOutput, ScenarioRun, Task,
};
use crate::artifacts::{Base, ProfileArtifacts};
use crate::config::{Config, Source};
use crate::stats;
use anyhow::{anyhow, bail, Result};
use std::collections::BTreeMap;
use std::time::Duration;

/// Options of the measure stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// `--quick`: fewer samples and no extension.
    pub quick: bool,
}

/// Run the plan: per task and seed, `blocks` rounds in which every arm runs
/// one block, in a randomized order per round (duet benchmarking, see
/// `stats/`), seed by seed across an environment's tasks. Then, within `comparison.extend_budget_s`, more rounds for
/// the tasks whose comparison is inconclusive or whose interval straddles a
/// warn line, the cheapest to decide first (`stats::extension_order`), then
/// narrowing those that cannot be decided in what is left. A candidate scenario that fails twice stops the run (exit 2)
/// naming it, so partial data never yields a pass; a base scenario that
/// fails makes that comparison "not comparable", with the reason.
/// Long by design: the schedule as one loop (environments, seeds, rounds,
/// then extensions), so its order is visible in one place.
pub fn run(
    cfg: &Config,
    plan: &[Task],
    arts: &[ProfileArtifacts],
    base: Option<&Base>,
    m: &mut dyn Measurer,
    opts: RunOptions,
) -> Result<Measured> {
    let seeds = &cfg.protocol.seeds;
    let mut states = Vec::new();
    for (index, task) in plan.iter().enumerate() {
        let (arms, base_excluded, artifact) = arms_of(task, arts, base, seeds.len())?;
        states.push(TaskState {
            task,
            index,
            arms,
            base_excluded,
            rounds: 0,
            extended: false,
            retried: Vec::new(),
            artifact,
            fixed_batch: None,
            block_s: None,
            host_ms: Vec::new(),
            cost: Default::default(),
        });
    }
    let mut envs: BTreeMap<String, EnvInfo> = BTreeMap::new();
    let mut current_env: Option<String> = None;
    // Per environment, the wall seconds spent preparing it.
    let mut setup_s: BTreeMap<String, f64> = BTreeMap::new();
    let total: usize = states
        .iter()
        .map(|s| s.task.blocks as usize * s.arms.len() * seeds.len())
        .sum();
    let mut progress = Progress {
        done: 0,
        total,
        started: std::time::Instant::now(),
    };

    // Seeds outermost within an environment: every task's first seed, then
    // every task's second, and so on. The host's slow spells last tens of
    // seconds (one took the replay overhead of all five seeds of one key
    // from 6 % to 15 % in one run, while its pairs were a millisecond
    // apart); one task's seeds back to back fell in one spell together, so
    // the median over seeds could not set it aside. Spread over the
    // environment's whole measuring time, a spell lands in one seed of many
    // keys instead of in every seed of one.
    let mut start = 0;
    while start < states.len() {
        let env = states[start].task.metric.environment.clone();
        let end = start
            + states[start..]
                .iter()
                .take_while(|s| s.task.metric.environment == env)
                .count();
        enter_env(cfg, m, &env, &mut current_env, &mut envs, &mut setup_s)?;
        // Heap tasks first, and each task's seeds together: bytes know no
        // host spells, and the page's JS heap keeps something of every realm
        // that ran before (with the timings interleaved first, a heap key's
        // per-seed figures rose 2.2, 4.1, 5.7, 7.4, 9.3 MiB), so a heap
        // figure should follow as few realms as possible.
        let mut order: Vec<(usize, usize)> = Vec::new();
        for (i, st) in states[start..end].iter().enumerate() {
            if st.task.is_heap() {
                order.extend((0..seeds.len()).map(|si| (si, start + i)));
            }
        }
        for si in 0..seeds.len() {
            for (i, st) in states[start..end].iter().enumerate() {
                if !st.task.is_heap() {
                    order.push((si, start + i));
                }
            }
        }
        for (si, ti) in order {
            let st = &mut states[ti];
            let t = std::time::Instant::now();
            run_rounds(cfg, m, st, si, 0..st.task.blocks, &envs, &mut progress)?;
            let cand = st.arm(Role::Candidate).expect("every task has a candidate");
            let p = cand
                .samples
                .seed_stat(si, st.task.metric.statistic)
                .unwrap_or(f64::NAN);
            progress.line(&format!(
                "{} {:<10} {:<7} seed {:>3}: {} {:.4} {} ({} arms x {} blocks, {:.1}s)",
                st.task.metric.id,
                st.task.profile,
                st.task.metric.environment,
                seeds[si],
                st.task.metric.statistic.name(),
                p,
                if st.task.metric.is_relative() {
                    "ms (candidate build)"
                } else {
                    &st.task.metric.unit
                },
                st.arms.len(),
                st.task.blocks,
                t.elapsed().as_secs_f64()
            ));
        }
        for st in states[start..end].iter_mut() {
            st.rounds = st.task.blocks;
        }
        start = end;
    }

    let mut results = BTreeMap::new();
    for st in &states {
        results.insert(st.task.key(), reduce(cfg, st, base, m)?);
    }
    if !opts.quick {
        let deadline =
            std::time::Instant::now() + Duration::from_secs(cfg.comparison.extend_budget_s);
        loop {
            let undecided: Vec<usize> = states
                .iter()
                .enumerate()
                .filter(|(_, st)| {
                    results
                        .get(&st.task.key())
                        .is_some_and(|r| undecided(st.task, r))
                })
                .map(|(i, _)| i)
                .collect();
            if undecided.is_empty() || std::time::Instant::now() >= deadline {
                break;
            }
            let left_s = deadline
                .saturating_duration_since(std::time::Instant::now())
                .as_secs_f64();
            let needs: Vec<(usize, Option<f64>)> = undecided
                .iter()
                .map(|&i| {
                    (
                        i,
                        seconds_to_decide(&states[i], &results[&states[i].task.key()]),
                    )
                })
                .collect();
            let (order, deciding) = stats::extension_order(&needs, left_s);
            let named = |i: usize| {
                let t = states[i].task;
                let need = needs
                    .iter()
                    .find(|n| n.0 == i)
                    .and_then(|n| n.1)
                    .map_or("more blocks cannot decide it".to_string(), |s| {
                        format!("about {s:.0}s to decide")
                    });
                format!(
                    "{} {} {} ({need})",
                    t.metric.id, t.profile, t.metric.environment
                )
            };
            let left_out: Vec<String> = undecided
                .iter()
                .filter(|i| !order.contains(i))
                .map(|&i| named(i))
                .collect();
            if order.is_empty() {
                eprintln!("budget: {} comparison(s) or band(s) still inconclusive, none that more blocks can decide: {}", undecided.len(), left_out.join("; "));
                break;
            }
            eprintln!(
                "budget: {} comparison(s) or band(s) still inconclusive; a block per arm and seed for {}, {} ({left_s:.0}s of the {}s extension budget left){}",
                undecided.len(),
                order.iter().map(|&i| named(i)).collect::<Vec<_>>().join("; "),
                if deciding {
                    "cheapest to decide first"
                } else {
                    "none decidable in what is left, so narrowing them, cheapest first"
                },
                cfg.comparison.extend_budget_s,
                if left_out.is_empty() { String::new() } else { format!("; left as they are: {}", left_out.join("; ")) }
            );
            for i in order {
                if std::time::Instant::now() >= deadline {
                    break;
                }
                let st = &mut states[i];
                enter_env(
                    cfg,
                    m,
                    &st.task.metric.environment,
                    &mut current_env,
                    &mut envs,
                    &mut setup_s,
                )?;
                progress.total += st.arms.len() * seeds.len();
                for si in 0..seeds.len() {
                    run_rounds(
                        cfg,
                        m,
                        st,
                        si,
                        st.rounds..st.rounds + 1,
                        &envs,
                        &mut progress,
                    )?;
                }
                st.rounds += 1;
                st.extended = true;
                let r = reduce(cfg, st, base, m)?;
                progress.line(&format!(
                    "{} {} {}: extended to {} blocks: {}",
                    st.task.metric.id,
                    st.task.profile,
                    st.task.metric.environment,
                    st.rounds,
                    r.comparison
                        .as_ref()
                        .map(|c| c.verdict.as_str())
                        .unwrap_or("band")
                ));
                results.insert(st.task.key(), r);
            }
        }
    }
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
    let mut host_ms: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut cost: BTreeMap<String, crate::summary::Cost> = BTreeMap::new();
    for st in &states {
        host_ms
            .entry(st.task.metric.environment.clone())
            .or_default()
            .extend(&st.host_ms);
        cost.entry(st.task.metric.environment.clone())
            .or_default()
            .add(&st.cost);
    }
    for (env, s) in setup_s {
        cost.entry(env).or_default().setup_s += s;
    }
    host_ms.retain(|_, v| !v.is_empty());
    Ok(Measured {
        results,
        envs,
        host_ms,
        cost,
    })
}

/// Does this result need more blocks? An inconclusive comparison, or an
/// interval that straddles the warn line of a warn-then-block metric.
pub fn undecided(task: &Task, r: &MetricResult) -> bool {
    if r.comparison
        .as_ref()
        .is_some_and(|c| c.verdict == stats::AbVerdict::Inconclusive)
    {
        return true;
    }
    let warn = task.metric.caps.get(&task.profile).and_then(|c| c.warn);
    match (warn, &r.value_ci) {
        (Some(w), Some(ci)) if task.metric.kind == crate::config::GateKind::WarnThenBlock => {
            stats::band(ci, w) == stats::Band::Straddles && stats::straddle_can_close(ci, w)
        }
        _ => false,
    }
}

/// What deciding an undecided key would cost, in seconds: the rounds its
/// interval would need (`stats::blocks_factor_to_decide`, or to clear a warn
/// line) beyond those it ran, at the seconds its rounds took so far.
fn seconds_to_decide(st: &TaskState, r: &MetricResult) -> Option<f64> {
    let factor = match r
        .comparison
        .as_ref()
        .filter(|c| c.verdict == stats::AbVerdict::Inconclusive)
    {
        Some(c) => stats::blocks_factor_to_decide(
            c.estimate.as_ref()?,
            if c.measure == "ratio" { 1.0 } else { 0.0 },
            c.limit,
        )?,
        None => stats::blocks_factor_to_clear(
            r.value_ci.as_ref()?,
            st.task.metric.caps.get(&st.task.profile)?.warn?,
        )?,
    };
    let rounds = st.rounds.max(1) as f64;
    Some((rounds * (factor - 1.0)).ceil().max(1.0) * st.cost.measuring_s / rounds)
}

fn enter_env(
    cfg: &Config,
    m: &mut dyn Measurer,
    env: &str,
    current: &mut Option<String>,
    envs: &mut BTreeMap<String, EnvInfo>,
    setup_s: &mut BTreeMap<String, f64>,
) -> Result<()> {
    if current.as_deref() == Some(env) {
        return Ok(());
    }
    let env_cfg = cfg
        .environments
        .get(env)
        .ok_or_else(|| anyhow!("unknown environment {env}"))?;
    let t = std::time::Instant::now();
    let info = m.prepare_environment(env, env_cfg)?;
    *setup_s.entry(env.to_string()).or_default() += t.elapsed().as_secs_f64();
    envs.insert(env.to_string(), info);
    *current = Some(env.to_string());
    Ok(())
}

/// One round of one seed: every arm runs one block, in a seeded random
/// order (so drift hits base and candidate alike, and no arm always goes
/// first).
///
/// Long by design: a round's arms prepared, run in one page call and filed in one place, so the order that randomizes them and the filing that pairs them cannot drift apart.
fn run_rounds(
    cfg: &Config,
    m: &mut dyn Measurer,
    st: &mut TaskState,
    si: usize,
    rounds: std::ops::Range<u32>,
    envs: &BTreeMap<String, EnvInfo>,
    progress: &mut Progress,
) -> Result<()> {
    let seed = cfg.protocol.seeds[si];
    let Source::Scenario(scenario) = &st.task.metric.source else {
        bail!("{} is not a scenario metric", st.task.metric.id)
    };
    let env = &st.task.metric.environment;
    let rate = envs.get(env).map(|e| e.rate).unwrap_or(1.0);
    let unit = if st.task.metric.is_relative() {
        "ms"
    } else {
        st.task.metric.unit.as_str()
    };
    // Every round runs each arm once, in its own seeded random order.
    let mut planned: Vec<(usize, ScenarioRun)> = Vec::new();
    let heap = st.task.is_heap();
    for round in rounds {
        let mut order: Vec<usize> = (0..st.arms.len()).collect();
        let mut rng = stats::SplitMix::new(
            seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ ((round as u64) << 32) ^ st.index as u64,
        );
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        for ai in order {
            if st.arms[ai].role.is_base() && st.base_excluded.is_some() {
                continue;
            }
            // A reference build runs inside its build's block, paired.
            if st.arms[ai].role.is_partner() {
                continue;
            }
            let pair = st.arms[ai]
                .role
                .partner()
                .and_then(|r| st.arm(r))
                .map(|a| a.module.clone());
            planned.push((
                ai,
                ScenarioRun {
                    metric_id: st.task.metric.id.clone(),
                    profile: st.task.profile.clone(),
                    environment: env.clone(),
                    scenario: scenario.clone(),
                    module: cfg.scenarios_dir.join(format!("{scenario}.js")),
                    params: st.task.metric.params.clone(),
                    wasm_memory_only: st.task.metric.wasm_memory_only,
                    wasm: st.arms[ai].module.wasm.clone(),
                    glue: st.arms[ai].module.glue.clone(),
                    seed,
                    iterations: st.task.iterations,
                    warmup: st.task.warmup,
                    batch: cfg.protocol.batch,
                    fixed_batch: st.fixed_batch,
                    throttle: rate,
                    timeout: Duration::from_secs(cfg.protocol.scenario_timeout_s),
                    quantity: Quantity::for_unit(unit),
                    realm: if heap {
                        format!("{}|{scenario}|{seed}|{round}|{ai}", st.index)
                    } else {
                        format!("{}|{scenario}|{seed}", st.index)
                    },
                    pair,
                },
            ));
        }
    }
    // The page runs many blocks per call (each call costs a CDP round
    // trip): the task's first call is one block, which calibrates the batch
    // size and times a block; later calls take as many blocks as fit in
    // CALL_TARGET_S, so a hang is still noticed within a few blocks' time.
    const CALL_TARGET_S: f64 = 12.0;
    let mut planned = planned.into_iter().peekable();
    while planned.peek().is_some() {
        let take = match st.block_s {
            None => 1,
            Some(b) => ((CALL_TARGET_S / b.max(1e-3)) as usize).max(1),
        };
        let chunk: Vec<(usize, ScenarioRun)> = planned
            .by_ref()
            .take(take)
            .map(|(ai, mut r)| {
                r.fixed_batch = st.fixed_batch;
                (ai, r)
            })
            .collect();
        let runs: Vec<ScenarioRun> = chunk.iter().map(|(_, r)| r.clone()).collect();
        let t = std::time::Instant::now();
        let results = m.run_many(&runs);
        st.cost.measuring_s += t.elapsed().as_secs_f64();
        st.host_ms.extend(
            results
                .iter()
                .find_map(|r| r.as_ref().ok().and_then(|o| o.host_ms)),
        );
        if st.block_s.is_none() && results.iter().all(|r| r.is_ok()) {
            st.block_s = Some(t.elapsed().as_secs_f64() / runs.len() as f64);
        }
        take_results(
            st, m, si, seed, scenario, env, unit, chunk, results, progress,
        )?;
    }
    Ok(())
}

/// File one call's results into the task's arms, retrying a failed run
/// once on its own.
///
/// Long by design: every way a run can come back (samples, a failure to retry once, a failure that stands) filed into its arm in one place.
#[allow(clippy::too_many_arguments)]
fn take_results(
    st: &mut TaskState,
    m: &mut dyn Measurer,
    si: usize,
    seed: u64,
    scenario: &str,
    env: &str,
    unit: &str,
    chunk: Vec<(usize, ScenarioRun)>,
    results: Vec<Result<ScenarioOutput>>,
    progress: &mut Progress,
) -> Result<()> {
    for ((ai, mut run), res) in chunk.into_iter().zip(results) {
        if st.arms[ai].role.is_base() && st.base_excluded.is_some() {
            continue;
        }
        let sent_batch = run.fixed_batch;
        run.fixed_batch = run.fixed_batch.or(st.fixed_batch);
        let role = st.arms[ai].role;
        let what = format!(
            "scenario `{scenario}` for {} ({}, {env}, seed {seed}, {} build)",
            st.task.metric.id,
            st.task.profile,
            role.label()
        );
        let res = res.or_else(|e| {
            eprintln!("budget: {what} failed: {e:#}; retrying once");
            let t = std::time::Instant::now();
            let again = m.run(&run);
            st.cost.measuring_s += t.elapsed().as_secs_f64();
            if again.is_ok() {
                st.retried.push(format!("{what}: {e:#}"));
            }
            again
        });
        let mut out = match res {
            Ok(o) => o,
            Err(e) if role.is_base() => {
                let reason = format!("{what} failed twice: {e:#}");
                eprintln!("budget: {reason}; this comparison is not comparable");
                st.base_excluded = Some(reason);
                continue;
            }
            Err(e) => return Err(anyhow!("{what} failed twice: {e:#}")),
        };
        if out.quantity != run.quantity {
            bail!(
                "scenario `{scenario}` recorded {:?} but {} needs {:?} samples",
                out.quantity,
                st.task.metric.id,
                run.quantity
            );
        }
        st.cost.timed_s +=
            (out.window_ms + out.pair.as_ref().map_or(0.0, |p| p.window_ms)) / 1000.0;
        let partner = role
            .partner()
            .and_then(|p| st.arms.iter().position(|a| a.role == p));
        let pair = match (run.pair.is_some(), partner, out.pair.take()) {
            (false, _, _) => None,
            (true, Some(pi), Some(p)) => Some((pi, *p)),
            (true, _, _) => {
                bail!("{what} ran paired with its reference build but returned no samples of it")
            }
        };
        if let Some((_, p)) = &pair {
            // The statistics pair sample i of each side (`stats::paired_ratios`).
            if p.samples.len() != out.samples.len() {
                bail!("{what} recorded {} samples on its build but {} on its paired reference build: a relative metric's scenario records one sample on h and one on h.pair per round (SCENARIOS.md)", out.samples.len(), p.samples.len());
            }
        }
        file_block(st, ai, si, seed, &what, unit, sent_batch, out)?;
        progress.done += 1;
        if let Some((pi, p)) = pair {
            file_block(
                st,
                pi,
                si,
                seed,
                &format!("{what}, its paired reference build"),
                unit,
                sent_batch,
                p,
            )?;
            progress.done += 1;
        }
    }
    Ok(())
}

/// File one block's samples into arm `ai`.
#[allow(clippy::too_many_arguments)]
fn file_block(
    st: &mut TaskState,
    ai: usize,
    si: usize,
    seed: u64,
    what: &str,
    unit: &str,
    sent_batch: Option<u32>,
    out: ScenarioOutput,
) -> Result<()> {
    if out.samples.is_empty() {
        bail!("{what} recorded no samples");
    }
    let samples: Vec<f64> = out
        .samples
        .iter()
        .map(|v| out.quantity.to_unit(*v, unit))
        .collect();
    if let Some(bad) = samples.iter().find(|v| !v.is_finite() || **v < 0.0) {
        bail!("{what} recorded an impossible sample {bad}");
    }
    let fixed = sent_batch.or(st.fixed_batch);
    if let Some(n) = fixed.filter(|n| out.ops_per_sample > 1 && *n != out.ops_per_sample) {
        bail!("{what} timed batches of {} operations, but the task's batch is fixed at {n} (the scenario must size batches with h.calibrateBatch)", out.ops_per_sample);
    }
    if std::env::var_os("BUDGET_DEBUG_BLOCKS").is_some() {
        let mut v = samples.clone();
        let p50 = stats::quantile_in_place(&mut v, 0.5);
        let p95 = stats::quantile_in_place(&mut v, 0.95);
        // The medians of the block's first and second halves: a level that
        // holds for the whole block (the compile's luck) shows in both.
        let half = samples.len() / 2;
        let h1 = stats::quantile_in_place(&mut samples[..half].to_vec(), 0.5);
        let h2 = stats::quantile_in_place(&mut samples[half..].to_vec(), 0.5);
        eprintln!(
            "block {} {} seed {seed} {}: p50 {p50:.5} p95 {p95:.5} batch {} halves {h1:.5} {h2:.5}",
            st.task.metric.id,
            st.task.profile,
            st.arms[ai].role.label(),
            out.ops_per_sample
        );
    }
    let arm = &mut st.arms[ai];
    arm.samples.seeds[si].push(samples);
    arm.ops.push(out.ops_per_sample.max(1));
    if out.ops_per_sample > 1 && st.fixed_batch.is_none() {
        st.fixed_batch = Some(out.ops_per_sample);
    }
    if !out.note.is_empty() || arm.note.is_empty() {
        arm.note = out.note;
    }
    if !out.parts.is_empty() {
        arm.parts[si] = out.parts;
    }
    Ok(())
}

use std::io::IsTerminal;

/// Progress of the measure stage: an in-place bar with an ETA on a
/// terminal, one line per finished seed otherwise (CI logs).
struct Progress {
    done: usize,
    total: usize,
    started: std::time::Instant,
}

impl Progress {
    fn line(&self, line: &str) {
        let elapsed_s = self.started.elapsed().as_secs_f64();
        let (done, total) = (self.done.min(self.total), self.total);
        if std::io::stderr().is_terminal() {
            let width = 30;
            let filled = done * width / total.max(1);
            let eta = if done > 0 {
                elapsed_s / done as f64 * (total - done) as f64
            } else {
                0.0
            };
            eprint!(
                "\r\x1b[2Kmeasure [{}{}] {done}/{total} {:.0}s, ~{:.0}s left  {line}",
                "#".repeat(filled),
                ".".repeat(width - filled),
                elapsed_s,
                eta
            );
        } else {
            eprintln!("budget: [{done:>4}/{total} blocks] {line} ({elapsed_s:.0}s elapsed)");
        }
    }
}
