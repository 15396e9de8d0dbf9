// M-PERF-03B: cancellation response. The window runs from the cancel
// request to the joiner-observable Cancelled outcome. The request arrives
// while the task is parked mid-work, so the window holds the rest of its
// work up to the next checkpoint (seeded, 0-20000 mixing steps), the
// checkpoint, the drain (cleanup of a quarter of that) and the finalize.
// One response is near the clock's 5 us step, so each sample cancels a
// batch of tasks with the same seeded work and records the per-response
// mean; the seeded work still varies from sample to sample.
import { warmInstance } from "./common.js";

// Ranges of the seeded work, in mixing steps (tests scale them).
const REST_MAX = 20000;
const PRE_MAX = 20000;

export default async function (h) {
  const inst = await warmInstance(h);
  const { cancel_batch_prepare: prepare, cancel_batch_fire: fire, cancel_batch_release: release } = inst.exports;
  const batch = (n, pre, rest) => {
    if (prepare(n, pre, rest) !== n) throw new Error("a task finished before the cancel request");
    const t0 = h.now();
    const cancelled = fire();
    const dt = h.now() - t0;
    release();
    if (cancelled !== n) throw new Error(`${n - cancelled} of ${n} tasks did not end Cancelled`);
    return dt;
  };
  // Warm until V8's background tier-up has landed.
  h.warmUp(() => batch(8, 0, REST_MAX / 2));
  // Batch size: the smallest power of two (from 8) whose batch of
  // mean-sized responses spans 50 clock steps (0.25 ms).
  const n = h.calibrateBatch((k) => batch(k, 0, REST_MAX / 2), 0.25, 8);
  h.describe(
    `cancellation response: from the cancel request (task parked mid-work) to the joiner-observable Cancelled outcome: ` +
      `the rest of the work before the next checkpoint (seeded, 0-${REST_MAX} mixing steps), the checkpoint, the drain and the finalize. ` +
      `Each sample cancels ${n} tasks with the same seeded work (seeded 0-${PRE_MAX} steps of work before the request stay outside the window) and records the mean response`,
  );
  let x = h.seed;
  for (let i = 0; i < h.iterations; i++) {
    // The same LCG mod 2^31, exact: in doubles, x * 1103515245 passes 2^53
    // and loses its low bits (SCENARIOS.md, "Heap samples").
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    const rest = x % (REST_MAX + 1);
    const pre = Math.floor(x / 65536) % (PRE_MAX + 1);
    h.recordBatch(batch(n, pre, rest), n);
  }
}
