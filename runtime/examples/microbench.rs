//! Native micro-benchmark of the runtime's hot operations (per-op figures).
//! Run: cargo run --release -p runtime --features trace --example microbench
use runtime::{work, Runtime};
use std::time::Instant;

fn per_op(name: &str, ops: u64, f: impl Fn()) {
    // Median of 11 timed rounds, after one warmup round.
    f();
    let mut v: Vec<f64> = (0..11)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_nanos() as f64 / ops as f64
        })
        .collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "{name:<28} {:>10.1} ns/op (median of 11 rounds of {ops} ops)",
        v[5]
    );
}

fn main() {
    let rt = Runtime::new(42);
    per_op("spawn + join (small task)", 10_000, || {
        work::spawn_join(&rt, 10_000);
    });
    let ch = rt.channel(64);
    per_op("channel reserve + send", 100_000, || {
        work::reserve_send(&rt, ch, 100_000);
    });
    per_op("timeout arm + cancel", 100_000, || {
        work::arm_cancel(&rt, 100_000);
    });
    per_op("mixed workload, 96 tasks", 1, || {
        work::mixed(&Runtime::new(11), 11, 96);
    });
    #[cfg(feature = "trace")]
    {
        let rec_rt = Runtime::new(11);
        rec_rt.start_trace();
        work::mixed(&rec_rt, 11, 96);
        let rec = rec_rt.take_trace();
        per_op("mixed workload, replayed", 1, || {
            let rt = Runtime::new(11);
            rt.start_replay(rec.clone());
            work::mixed(&rt, 11, 96);
            assert!(rt.finish_replay().is_ok());
        });
    }
}
