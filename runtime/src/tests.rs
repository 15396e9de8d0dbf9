//! Host tests of the runtime's guarantees, unit and property-style over
//! many seeds (a seeded generator builds a random workload per seed, and
//! every invariant is checked on it).

use super::*;

fn seeds() -> impl Iterator<Item = u64> {
    (0..300u64).map(|i| i.wrapping_mul(0x9E37_79B9) ^ 0x5555)
}

#[test]
fn same_seed_same_order_different_seed_may_differ() {
    let order = |seed| {
        let rt = Runtime::new(seed);
        let log = Rc::new(RefCell::new(Vec::new()));
        for i in 0..20u64 {
            let log = log.clone();
            rt.spawn(rt.root(), move |cx| async move {
                log.borrow_mut().push(i);
                cx.yield_now().await?;
                log.borrow_mut().push(100 + i);
                Ok(i)
            });
        }
        rt.run_until_idle();
        let v = log.borrow().clone();
        v
    };
    assert_eq!(order(42), order(42));
    assert_ne!(
        order(42),
        order(43),
        "different seeds should schedule differently"
    );
}

#[test]
fn region_close_waits_for_every_child_and_rejects_new_tasks() {
    for seed in seeds() {
        let rt = Runtime::new(seed);
        let region = rt.region(rt.root());
        let mut rng = Rng::new(seed);
        let mut ids = Vec::new();
        for i in 0..(1 + rng.below(12)) {
            let y = rng.below(5);
            ids.push(
                rt.spawn(region, move |cx| async move {
                    for _ in 0..y {
                        cx.yield_now().await?;
                    }
                    Ok(i as u64)
                })
                .unwrap(),
            );
        }
        assert!(rt.close(region), "seed {seed}: close must reach quiescence");
        assert!(rt.is_quiescent(region));
        for t in &ids {
            assert!(
                rt.outcome(*t).is_some(),
                "seed {seed}: task {t:?} outlived its region"
            );
        }
        assert!(
            rt.spawn(region, |_| async { Ok(0) }).is_none(),
            "closed region accepted a task"
        );
        assert!(rt.orphans().is_empty());
        assert_eq!(rt.live_tasks(), 0);
    }
}

#[test]
fn cancel_phases_in_order_never_skipped_and_observable_to_joiner() {
    for seed in seeds() {
        let rt = Runtime::new(seed);
        let mut rng = Rng::new(seed);
        let cleaned = Rc::new(RefCell::new(false));
        let c2 = cleaned.clone();
        let work = 1 + rng.below(6);
        let victim = rt
            .spawn(rt.root(), move |cx| async move {
                loop {
                    for _ in 0..work {
                        if cx.yield_now().await.is_err() {
                            *c2.borrow_mut() = true; // cleanup
                            return Err(Cancelled);
                        }
                    }
                }
            })
            .unwrap();
        let observed = Rc::new(RefCell::new(None));
        let o2 = observed.clone();
        rt.spawn(rt.root(), move |cx| async move {
            let o = cx.join(victim).await;
            *o2.borrow_mut() = Some(o);
            Ok(0)
        });
        for _ in 0..rng.below(10) {
            rt.step();
        }
        rt.cancel(victim);
        rt.run_until_idle();
        assert_eq!(
            rt.phases(victim),
            vec![
                Phase::Running,
                Phase::CancelRequested,
                Phase::Draining,
                Phase::Finalized
            ],
            "seed {seed}"
        );
        assert!(*cleaned.borrow(), "seed {seed}: cleanup did not run");
        assert_eq!(*observed.borrow(), Some(Outcome::Cancelled), "seed {seed}");
    }
}

#[test]
fn a_task_that_returns_ok_after_cancel_is_still_cancelled() {
    let rt = Runtime::new(1);
    let t = rt.spawn(rt.root(), |_cx| async { Ok(5) }).unwrap();
    rt.cancel(t);
    rt.run_until_idle();
    assert_eq!(rt.outcome(t), Some(Outcome::Cancelled));
    assert_eq!(
        rt.phases(t),
        vec![
            Phase::Running,
            Phase::CancelRequested,
            Phase::Draining,
            Phase::Finalized
        ]
    );
}

fn assert_no_leak(rt: &Runtime, ch: ChannelId, what: &str) {
    let s = rt.channel_stats(ch);
    assert_eq!(s.outstanding, 0, "{what}: permit alive");
    assert_eq!(s.reserved, s.committed + s.aborted, "{what}: {s:?}");
}

#[test]
fn permits_never_leak_commit_abort_drop() {
    let rt = Runtime::new(3);
    let ch = rt.channel(2);
    rt.try_reserve(ch).unwrap().send(1);
    rt.try_reserve(ch).unwrap().abort();
    drop(rt.try_reserve(ch).unwrap());
    assert_no_leak(&rt, ch, "commit/abort/drop");
    assert_eq!(rt.channel_stats(ch).committed, 1);
    assert_eq!(rt.channel_stats(ch).aborted, 2);
}

#[test]
fn permits_never_leak_on_cancel_timeout_and_lost_race() {
    for seed in seeds() {
        let rt = Runtime::new(seed);
        let ch = rt.channel(1);
        let region = rt.region(rt.root());
        // Holder reserves, then waits; it gets cancelled while holding.
        let holder = rt
            .spawn(region, move |cx| async move {
                let _p = cx.reserve(ch).await?;
                loop {
                    cx.yield_now().await?;
                }
            })
            .unwrap();
        // Racer waits for capacity that the holder has; it loses the race
        // and is cancelled while waiting.
        let racer = rt
            .spawn(region, move |cx| async move {
                let p = cx.reserve(ch).await?;
                p.send(9);
                Ok(1)
            })
            .unwrap();
        // A sleeper holds a permit through a timeout that expires.
        let ch2 = rt.channel(1);
        let sleeper = rt
            .spawn(region, move |cx| async move {
                let p = cx.reserve(ch2).await?;
                cx.sleep_until(5_000).await?;
                p.abort();
                Ok(2)
            })
            .unwrap();
        let mut rng = Rng::new(seed);
        for _ in 0..(2 + rng.below(8)) {
            rt.step();
        }
        rt.cancel(holder);
        if seed % 2 == 0 {
            rt.cancel(racer);
        }
        rt.run_until_idle();
        rt.advance(10_000);
        assert!(rt.close(region), "seed {seed}");
        assert_eq!(rt.outcome(holder), Some(Outcome::Cancelled));
        assert_eq!(rt.outcome(sleeper), Some(Outcome::Ok(2)));
        while rt.try_recv(ch).is_some() {}
        assert_no_leak(&rt, ch, &format!("seed {seed} ch"));
        assert_no_leak(&rt, ch2, &format!("seed {seed} ch2"));
    }
}

#[test]
fn timers_fire_at_deadline_and_cancel() {
    let rt = Runtime::new(5);
    let t = rt
        .spawn(rt.root(), |cx| async move {
            cx.sleep_until(3_500).await?;
            Ok(cx.runtime().now_us())
        })
        .unwrap();
    rt.run_until_idle();
    assert_eq!(rt.outcome(t), None);
    rt.advance(3_000);
    rt.run_until_idle();
    assert_eq!(rt.outcome(t), None, "fired early");
    rt.advance(3_600);
    rt.run_until_idle();
    assert_eq!(rt.outcome(t), Some(Outcome::Ok(3_600)));
    let id = rt.arm(1_000_000);
    assert!(rt.disarm(id));
    assert!(!rt.disarm(id), "double cancel");
    // Far timers (beyond one wheel revolution) wait for their deadline.
    let far = rt
        .spawn(rt.root(), |cx| async move {
            cx.sleep_until(900_000).await?;
            Ok(1)
        })
        .unwrap();
    rt.run_until_idle();
    rt.advance(300_000);
    rt.run_until_idle();
    assert_eq!(rt.outcome(far), None);
    rt.advance(900_000);
    rt.run_until_idle();
    assert_eq!(rt.outcome(far), Some(Outcome::Ok(1)));
}

#[test]
fn cancel_wakes_a_sleeper() {
    let rt = Runtime::new(8);
    let t = rt
        .spawn(rt.root(), |cx| async move {
            cx.sleep_until(1 << 40).await?;
            Ok(0)
        })
        .unwrap();
    rt.run_until_idle();
    rt.cancel(t);
    rt.run_until_idle();
    assert_eq!(rt.outcome(t), Some(Outcome::Cancelled));
}

#[test]
fn workloads_are_deterministic_per_seed() {
    for seed in [11u64, 29, 42, 73, 101] {
        let a = work::mixed(&Runtime::new(seed), seed, 24);
        let b = work::mixed(&Runtime::new(seed), seed, 24);
        assert_eq!(a, b);
    }
    assert_eq!(work::spawn_join(&Runtime::new(1), 10), 45);
    let rt = Runtime::new(1);
    let ch = rt.channel(4);
    assert_eq!(work::reserve_send(&rt, ch, 10), 45);
    assert_no_leak(&rt, ch, "reserve_send");
    assert_eq!(work::arm_cancel(&rt, 100), 100);
}

/// The recorded trace of the mixed workload (24 tasks) for `seed`.
#[cfg(feature = "trace")]
fn recording(seed: u64) -> Vec<u32> {
    let rt = Runtime::new(seed);
    rt.start_trace();
    work::mixed(&rt, seed, 24);
    rt.take_trace()
}

#[cfg(feature = "trace")]
#[test]
fn replay_reproduces_the_recording_for_the_protocol_seeds() {
    for seed in [11u64, 29, 42, 73, 101] {
        let rec = recording(seed);
        assert!(
            rec.len() > 50,
            "seed {seed}: trace too short ({})",
            rec.len()
        );
        // Replay on a runtime with a different seed: the recording, not the
        // generator, decides the order.
        let rt2 = Runtime::new(seed ^ 0xdead);
        rt2.start_replay(rec.clone());
        work::mixed(&rt2, seed, 24);
        assert_eq!(rt2.finish_replay(), Ok(rec.len()), "seed {seed}");
    }
}

#[cfg(feature = "trace")]
#[test]
fn replay_reports_divergence() {
    let rec = recording(11);
    let rt2 = Runtime::new(11);
    rt2.start_replay(rec);
    work::mixed(&rt2, 12, 30); // a different workload
    let d = rt2.finish_replay().unwrap_err();
    assert!(d.to_string().contains("diverged"), "{d}");
}

#[cfg(feature = "trace")]
#[test]
fn replay_divergence_names_the_first_mismatch_and_a_short_replay() {
    let rec = recording(29);
    // A recording whose fourth event was altered: the replay differs there.
    let mut bent = rec.clone();
    bent[3] ^= 1;
    let rt2 = Runtime::new(29);
    rt2.start_replay(bent.clone());
    work::mixed(&rt2, 29, 24);
    let d = rt2.finish_replay().unwrap_err();
    assert_eq!(
        (d.index, d.expected, d.actual),
        (
            3,
            Some(crate::trace::unpack(bent[3])),
            Some(crate::trace::unpack(rec[3]))
        )
    );
    // A recording longer than the replay: the divergence is where it stopped.
    let mut long = rec.clone();
    long.push(crate::trace::pack(7, 1));
    let rt3 = Runtime::new(29);
    rt3.start_replay(long);
    work::mixed(&rt3, 29, 24);
    let d = rt3.finish_replay().unwrap_err();
    assert_eq!((d.index, d.actual), (rec.len(), None));
}

#[cfg(feature = "trace")]
#[test]
fn replay_out_of_step_still_follows_the_recorded_order() {
    use crate::trace::{pack, unpack};
    let rec = recording(42);
    // An event inserted before the second POLL: from there the recorded
    // event at the replay's position is not the POLL a pick wants, so the
    // pick searches forward for it. The divergence is the inserted event,
    // and the replay still runs every task to its end.
    let i = rec
        .iter()
        .enumerate()
        .filter(|(_, &e)| unpack(e).0 == crate::ev::POLL)
        .nth(1)
        .unwrap()
        .0;
    let mut extra = rec.clone();
    extra.insert(i, pack(7, 1));
    let rt2 = Runtime::new(42 ^ 0xbeef);
    rt2.start_replay(extra);
    let sum = work::mixed(&rt2, 42, 24);
    let d = rt2.finish_replay().unwrap_err();
    assert_eq!(
        (d.index, d.expected, d.actual),
        (i, Some((7, 1)), Some(unpack(rec[i])))
    );
    assert_eq!(
        sum,
        work::mixed(&Runtime::new(42), 42, 24),
        "the replay polled in the recorded order"
    );
}

#[cfg(feature = "dev")]
#[test]
fn dev_leak_report_names_tasks_and_permits() {
    let rt = Runtime::new(1);
    let ch = rt.channel(1);
    let p = rt.try_reserve(ch).unwrap();
    rt.spawn_named(rt.root(), "stuck", |cx| async move {
        cx.sleep_until(1 << 40).await?;
        Ok(0)
    });
    rt.run_until_idle();
    let r = rt.leak_report();
    assert!(r.contains("`stuck`") && r.contains("1 outstanding"), "{r}");
    drop(p);
}

#[test]
fn released_regions_recycle_task_slots_and_stale_handles_stop_resolving() {
    let rt = Runtime::new(9);
    for _ in 0..50 {
        assert_eq!(work::spawn_join(&rt, 100), 4950);
    }
    // 50 x 100 tasks ran in 100 slots.
    assert_eq!(rt.core.borrow().tasks.len(), 100);
    let region = rt.region(rt.root());
    let t = rt.spawn(region, |_| async { Ok(7) }).unwrap();
    assert!(!rt.release(region), "an open region cannot be released");
    assert!(rt.close(region));
    assert_eq!(rt.outcome(t), Some(Outcome::Ok(7)));
    assert!(rt.release(region));
    assert_eq!(rt.outcome(t), None, "stale handle after release");
    let t2 = rt.spawn(rt.root(), |_| async { Ok(8) }).unwrap();
    assert_eq!(t2.index(), t.index(), "slot reused");
    rt.run_until_idle();
    assert_eq!(rt.outcome(t), None, "old handle does not see the new task");
    assert_eq!(rt.outcome(t2), Some(Outcome::Ok(8)));
    assert!(rt.orphans().is_empty());
}

/// Spawn one task in a fresh region, run it, close and release the region:
/// one reuse cycle of a slot.
fn cycle(rt: &Runtime, v: u64) -> TaskId {
    let region = rt.region(rt.root());
    let t = rt.spawn(region, move |_| async move { Ok(v) }).unwrap();
    rt.run_until_idle();
    assert!(rt.close(region) && rt.release(region));
    t
}

#[test]
fn a_stale_handle_never_resolves_however_often_its_slot_is_reused() {
    let rt = Runtime::new(3);
    let first = cycle(&rt, 1);
    assert_eq!(rt.outcome(first), None);
    // Tens of thousands of reuses of the same slot (an 8-bit generation
    // wrapped after 128): the first handle never resolves again, and no
    // earlier handle resolves to a later task.
    let mut seen = std::collections::HashSet::new();
    for i in 0..50_000u64 {
        let region = rt.region(rt.root());
        let t = rt.spawn(region, move |_| async move { Ok(i) }).unwrap();
        assert_eq!(t.index(), first.index(), "the slot is reused");
        assert!(seen.insert(t), "a handle value is never issued twice");
        assert_eq!(
            rt.outcome(first),
            None,
            "cycle {i}: the stale handle resolved"
        );
        rt.run_until_idle();
        assert!(rt.close(region) && rt.release(region));
    }
    assert_eq!(
        rt.core.borrow().tasks.len(),
        1,
        "one slot served every cycle"
    );
}

#[test]
fn a_slot_whose_generation_would_wrap_is_retired() {
    let rt = Runtime::new(4);
    let t = cycle(&rt, 1);
    // Fast-forward the released slot to the edge of its generations.
    rt.core.borrow_mut().tasks[t.index() as usize].gen = u32::MAX - 4;
    let a = cycle(&rt, 2); // reused at MAX-3, released at MAX-2: reusable
    let b = cycle(&rt, 3); // reused at MAX-1, released at MAX: retired
    assert_eq!((a.index(), b.index()), (t.index(), t.index()));
    let c = cycle(&rt, 4);
    assert_ne!(
        c.index(),
        t.index(),
        "a slot at the end of its generations is not reused"
    );
    for h in [t, a, b] {
        assert_eq!(rt.outcome(h), None, "{h:?} is stale");
    }
    assert_eq!(rt.core.borrow().tasks[t.index() as usize].gen, u32::MAX);
}

#[test]
fn forged_handles_resolve_to_nothing() {
    let rt = Runtime::new(5);
    let region = rt.region(rt.root());
    let t = rt.spawn(region, |_| async { Ok(9) }).unwrap();
    rt.run_until_idle();
    for forged in [
        TaskId(t.0 ^ (1 << 32)),
        TaskId(t.0 + (7 << 32)),
        TaskId(u64::MAX),
        TaskId(t.index() as u64 + 1000),
    ] {
        assert_eq!(rt.outcome(forged), None, "{forged:?}");
        rt.cancel(forged); // no effect, no panic
        assert!(rt.phases(forged).is_empty(), "{forged:?}");
    }
    assert_eq!(
        rt.outcome(t),
        Some(Outcome::Ok(9)),
        "the real handle still resolves"
    );
}
