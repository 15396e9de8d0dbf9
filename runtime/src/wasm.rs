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
    /// M-PERF-03B: the region and tasks of the current cancellation batch.
    cancel_region: Option<crate::RegionId>,
    cancel_tasks: Vec<TaskId>,
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
    #[cfg(feature = "inject-init-busy")]
    {
        // Calibration (`cargo xtask calibrate`): busy work of a size set at
        // build time, so the gate's detection rate can be measured against
        // a known slowdown. Pure wasm mixing steps: a spin on the host clock
        // called a JS import thousands of times per sample, and that cost
        // about +35 % of cold init whatever the spin's length (60 or 170 us).
        let steps: u32 = option_env!("BUDGET_INJECT_INIT_STEPS")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        core::hint::black_box(mix(seed as u64, core::hint::black_box(steps)));
    }
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
            cancel_region: None,
            cancel_tasks: Vec::new(),
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

/// Busy work the scenarios can size: `steps` rounds of a 64-bit mix.
#[inline(never)]
fn mix(mut x: u64, steps: u32) -> u64 {
    for i in 0..steps {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(i as u64 | 1);
    }
    x
}

/// A suspension point that is *not* a cancellation checkpoint: it parks the
/// task until something wakes it (the cancel request does), then resumes the
/// work it was in the middle of. Models a task suspended mid-work, on I/O or
/// a host callback, when the cancel arrives.
struct Park(bool);

impl std::future::Future for Park {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        std::task::Poll::Pending
    }
}

/// M-PERF-03B, setup (outside the timed window): open a region and spawn
/// `n` tasks. Each does `pre` steps of work (checkpointing every 4096
/// steps), then parks mid-work with `rest` steps left before its next
/// checkpoint, and on observing the cancel drains (`rest / 4` steps of
/// cleanup) before it returns. Returns the number of tasks parked.
#[no_mangle]
pub extern "C" fn cancel_batch_prepare(n: u32, pre: u32, rest: u32) -> u32 {
    with(|s| {
        let region = s.rt.region(s.rt.root());
        s.cancel_region = Some(region);
        s.cancel_tasks.clear();
        for k in 0..n {
            let t =
                s.rt.spawn(region, move |cx| async move {
                    let mut x = k as u64;
                    let mut done = 0;
                    while done < pre {
                        let chunk = (pre - done).min(4096);
                        x = mix(x, chunk);
                        done += chunk;
                        cx.yield_now().await?;
                    }
                    Park(false).await;
                    // The request arrived while we were parked mid-work: the
                    // rest of the work runs before the checkpoint sees it.
                    x = mix(x, rest);
                    if cx.yield_now().await.is_err() {
                        // Drain: cleanup after observing the cancel.
                        return Ok(mix(x, rest / 4) & 1);
                    }
                    Ok(x)
                })
                .expect("the batch region is open");
            s.cancel_tasks.push(t);
        }
        // Run every task up to its park (no task is ready after that).
        s.rt.run_until_idle();
        s.cancel_tasks
            .iter()
            .filter(|t| s.rt.outcome(**t).is_none())
            .count() as u32
    })
}

/// M-PERF-03B, the timed window: for each parked task, request cancel and
/// drive the scheduler until the joiner-observable outcome is `Cancelled`
/// (rest of the work, checkpoint, drain, finalize). Returns how many tasks
/// ended `Cancelled`.
#[no_mangle]
pub extern "C" fn cancel_batch_fire() -> u32 {
    with(|s| {
        let mut cancelled = 0;
        for &t in &s.cancel_tasks {
            s.rt.cancel(t);
            while s.rt.outcome(t).is_none() && s.rt.step() {}
            cancelled += (s.rt.outcome(t) == Some(Outcome::Cancelled)) as u32;
        }
        cancelled
    })
}

/// M-PERF-03B, teardown (outside the window): close and release the batch
/// region so its task slots are reused by the next batch.
#[no_mangle]
pub extern "C" fn cancel_batch_release() -> u32 {
    with(|s| {
        let Some(region) = s.cancel_region.take() else {
            return 0;
        };
        s.cancel_tasks.clear();
        (s.rt.close(region) && s.rt.release(region)) as u32
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

/// The mixed workload on a fresh runtime, in every build: the reference
/// side of M-PERF-04D, run on the build without the trace feature.
#[no_mangle]
pub extern "C" fn workload_run(seed: u32, tasks: u32) -> u32 {
    let rt = Runtime::new(seed as u64);
    work::mixed(&rt, seed as u64, tasks) as u32 | 1
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

/// Test only (feature `test-bloat`): about a thousand distinct functions
/// that init never calls, so lazy compilation skips them and eager
/// compilation does not. The gate's test shows the eager cold-init figure
/// growing with them.
#[cfg(feature = "test-bloat")]
mod bloat {
    #[inline(never)]
    fn step<const K: u64>(mut x: u64) -> u64 {
        for i in 0..(K % 7 + 3) {
            x = x.rotate_left((K % 63) as u32 + 1) ^ K.wrapping_mul(i + 0x9E37);
            x = x.wrapping_mul(K | 1).wrapping_add(K >> 3);
            if x % (K % 13 + 2) == 0 {
                x ^= K << 7
            } else {
                x = x.wrapping_sub(K)
            }
        }
        x
    }
    macro_rules! l0 {
        ($x:ident, $k:expr) => {
            step::<{ $k }>($x)
        };
    }
    macro_rules! l1 {
        ($x:ident, $k:expr) => {
            l0!($x, $k * 2) ^ l0!($x, $k * 2 + 1)
        };
    }
    macro_rules! l2 {
        ($x:ident, $k:expr) => {
            l1!($x, $k * 2) ^ l1!($x, $k * 2 + 1)
        };
    }
    macro_rules! l3 {
        ($x:ident, $k:expr) => {
            l2!($x, $k * 2) ^ l2!($x, $k * 2 + 1)
        };
    }
    macro_rules! l4 {
        ($x:ident, $k:expr) => {
            l3!($x, $k * 2) ^ l3!($x, $k * 2 + 1)
        };
    }
    macro_rules! l5 {
        ($x:ident, $k:expr) => {
            l4!($x, $k * 2) ^ l4!($x, $k * 2 + 1)
        };
    }
    macro_rules! l6 {
        ($x:ident, $k:expr) => {
            l5!($x, $k * 2) ^ l5!($x, $k * 2 + 1)
        };
    }
    macro_rules! l7 {
        ($x:ident, $k:expr) => {
            l6!($x, $k * 2) ^ l6!($x, $k * 2 + 1)
        };
    }
    macro_rules! l8 {
        ($x:ident, $k:expr) => {
            l7!($x, $k * 2) ^ l7!($x, $k * 2 + 1)
        };
    }
    macro_rules! l9 {
        ($x:ident, $k:expr) => {
            l8!($x, $k * 2) ^ l8!($x, $k * 2 + 1)
        };
    }
    macro_rules! l10 {
        ($x:ident, $k:expr) => {
            l9!($x, $k * 2) ^ l9!($x, $k * 2 + 1)
        };
    }

    #[no_mangle]
    pub extern "C" fn bloat_all(x: u64) -> u64 {
        l10!(x, 1)
    }
}
