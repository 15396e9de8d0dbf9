//! Raw wasm exports for the browser scenarios (no JS glue needed).
//! One runtime per instance, created by `rt_init`.

use crate::{work, ChannelId, Outcome, Runtime, TaskId};
use std::cell::RefCell;

#[link(wasm_import_module = "env")]
extern "C" {
    /// The host clock in milliseconds (`performance.now()` in the browser).
    fn now_ms() -> f64;
}

struct State {
    rt: Runtime,
    ch: ChannelId,
    /// Steady-state retention of the heap workload: the last 64 results.
    kept: Vec<Vec<u64>>,
    #[cfg(feature = "trace")]
    recording: Vec<u32>,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| f(s.borrow_mut().as_mut().expect("call rt_init first")))
}

/// Create the runtime (cold init measures compile + instantiate + this).
#[no_mangle]
pub extern "C" fn rt_init(seed: u32) -> u32 {
    let rt = Runtime::new(seed as u64);
    // Start the clock at the host's time.
    rt.advance((unsafe { now_ms() } * 1000.0) as u64);
    let ch = rt.channel(64);
    #[cfg(feature = "slow-init")]
    {
        // 70 ms of busy work (the core-min cap is 60 ms), measured on the host clock.
        let t0 = unsafe { now_ms() };
        while unsafe { now_ms() } - t0 < 70.0 {}
    }
    STATE.with(|s| {
        *s.borrow_mut() = Some(State {
            rt,
            ch,
            kept: Vec::new(),
            #[cfg(feature = "trace")]
            recording: Vec::new(),
        })
    });
    1
}

/// Advance the runtime's timers to the host clock.
#[no_mangle]
pub extern "C" fn rt_tick() -> u32 {
    with(|s| s.rt.advance((unsafe { now_ms() } * 1000.0) as u64))
}

#[no_mangle]
pub extern "C" fn bench_spawn_join(n: u32) -> u32 {
    with(|s| work::spawn_join(&s.rt, n) as u32)
}

#[no_mangle]
pub extern "C" fn bench_reserve_send(n: u32) -> u32 {
    with(|s| work::reserve_send(&s.rt, s.ch, n) as u32)
}

#[no_mangle]
pub extern "C" fn bench_timer(n: u32) -> u32 {
    with(|s| work::arm_cancel(&s.rt, n))
}

/// Spawn a task that does `work` units of busy computation between
/// checkpoints, and run it until it is mid-work. Returns its id.
#[no_mangle]
pub extern "C" fn cancel_prepare(work: u32) -> u32 {
    with(|s| {
        let region = s.rt.root();
        let t = s
            .rt
            .spawn(region, move |cx| async move {
                let mut x = 1u64;
                loop {
                    for i in 0..work {
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(i as u64);
                    }
                    if cx.yield_now().await.is_err() {
                        // Cleanup after observing the cancel: the drain phase.
                        return Ok(x & 1);
                    }
                }
            })
            .expect("root region is open");
        for _ in 0..3 {
            s.rt.step();
        }
        t.0
    })
}

/// Request cancellation and drive the task to an observable cancel.
/// Returns 1 when the outcome is `Cancelled`.
#[no_mangle]
pub extern "C" fn cancel_fire(task: u32) -> u32 {
    with(|s| {
        let t = TaskId(task);
        s.rt.cancel(t);
        while s.rt.outcome(t).is_none() && s.rt.step() {}
        (s.rt.outcome(t) == Some(Outcome::Cancelled)) as u32
    })
}

/// One steady-state operation: a seeded mixed workload whose results are
/// retained in a bounded window (the heap should plateau).
#[no_mangle]
pub extern "C" fn heap_op(i: u32) -> u32 {
    with(|s| {
        let v = work::mixed(&s.rt, i as u64, 16);
        let row: Vec<u64> = (0..32).map(|k| v.wrapping_add(k)).collect();
        if s.kept.len() >= 64 {
            s.kept.remove(0);
        }
        s.kept.push(row);
        s.kept.len() as u32
    })
}

/// Record the trace of the mixed workload for `seed` (the replay input).
#[cfg(feature = "trace")]
#[no_mangle]
pub extern "C" fn replay_prepare(seed: u32, tasks: u32) -> u32 {
    let rt = Runtime::new(seed as u64);
    rt.start_trace();
    work::mixed(&rt, seed as u64, tasks);
    let rec = rt.take_trace();
    let n = rec.len() as u32;
    with(|s| s.recording = rec);
    n
}

/// Run the mixed workload on a fresh runtime: mode 0 without trace, mode 1
/// replaying the prepared recording (load + step + check). Returns 1 when
/// the replay matched (always 1 in mode 0).
#[cfg(feature = "trace")]
#[no_mangle]
pub extern "C" fn replay_run(seed: u32, tasks: u32, mode: u32) -> u32 {
    let rt = Runtime::new(seed as u64);
    if mode == 0 {
        work::mixed(&rt, seed as u64, tasks);
        return 1;
    }
    // Load: the recording moves into the runtime and back, no copy.
    let rec = with(|s| std::mem::take(&mut s.recording));
    rt.start_replay(rec);
    work::mixed(&rt, seed as u64, tasks);
    let (ok, rec) = rt.finish_replay_keep();
    with(|s| s.recording = rec);
    ok as u32
}

/// Developer diagnostics: bytes of the leak report (0 = clean).
#[cfg(feature = "dev")]
#[no_mangle]
pub extern "C" fn debug_leaks() -> u32 {
    with(|s| s.rt.leak_report().len() as u32)
}
