//! Reusable workloads, shared by the wasm entry points, host tests and the
//! native micro-benchmark, so all three measure the same work.

use crate::{ChannelId, Outcome, Rng, Runtime};

/// Spawn `n` small tasks in a fresh region and join them all.
pub fn spawn_join(rt: &Runtime, n: u32) -> u64 {
    let region = rt.region(rt.root());
    let mut ids = Vec::with_capacity(n as usize);
    for i in 0..n {
        ids.push(
            rt.spawn(region, move |_cx| async move { Ok(i as u64) })
                .expect("region open"),
        );
    }
    rt.close(region);
    let sum = ids
        .iter()
        .map(|t| match rt.outcome(*t) {
            Some(Outcome::Ok(v)) => v,
            _ => 0,
        })
        .sum();
    rt.release(region);
    sum
}

/// `n` times: reserve a permit, send, receive.
pub fn reserve_send(rt: &Runtime, ch: ChannelId, n: u32) -> u64 {
    let mut sum = 0;
    for i in 0..n {
        let p = rt.try_reserve(ch).expect("capacity");
        p.send(i as u64);
        sum += rt.try_recv(ch).unwrap_or(0);
    }
    sum
}

/// `n` times: arm a timeout and cancel it.
pub fn arm_cancel(rt: &Runtime, n: u32) -> u32 {
    let base = rt.now_us();
    let mut ok = 0;
    for i in 0..n {
        let t = rt.arm(base + 1_000 + (i as u64 % 5_000) * 7);
        ok += rt.disarm(t) as u32;
    }
    ok
}

/// A seeded mixed workload: `tasks` tasks that yield, exchange messages
/// through a small channel and finish; returns a checksum.
pub fn mixed(rt: &Runtime, seed: u64, tasks: u32) -> u64 {
    let region = rt.region(rt.root());
    let ch = rt.channel(4);
    let mut rng = Rng::new(seed);
    for i in 0..tasks {
        let yields = 1 + rng.below(4);
        let producer = i % 2 == 0;
        rt.spawn(region, move |cx| async move {
            let mut acc = 0u64;
            for _ in 0..yields {
                cx.yield_now().await?;
                if producer {
                    let p = cx.reserve(ch).await?;
                    p.send(i as u64);
                } else if let Some(v) = cx.runtime().try_recv(ch) {
                    acc = acc.wrapping_add(v);
                }
            }
            Ok(acc)
        });
    }
    // Drain leftovers so producers never block forever.
    let drain = rt.spawn(region, move |cx| async move {
        let mut acc = 0u64;
        for _ in 0..64 {
            match cx.runtime().try_recv(ch) {
                Some(v) => acc = acc.wrapping_add(v),
                None => {
                    if cx.runtime().live_tasks() <= 1 {
                        break;
                    }
                    cx.yield_now().await?;
                }
            }
        }
        Ok(acc)
    });
    while !rt.close(region) {
        while rt.try_recv(ch).is_some() {}
        if rt.live_tasks() == 0 {
            break;
        }
    }
    let sum = drain
        .and_then(|d| rt.outcome(d))
        .map(|o| match o {
            Outcome::Ok(v) => v,
            Outcome::Cancelled => 0,
        })
        .unwrap_or(0);
    rt.release(region);
    sum
}
