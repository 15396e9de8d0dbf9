// Micro-scale (channel reserve + send (+ recv to free the slot)): far below the timer resolution per operation, so
// each sample times a calibrated batch (h.calibrateBatch) and records the
// per-operation mean.
import { warmInstance } from "./common.js";

export default async function (h) {
  const inst = await warmInstance(h);
  const f = inst.exports.bench_reserve_send;
  h.describe("channel reserve + send (+ recv to free the slot), timed in batches");
  for (let i = 0; i < 50; i++) f(h.batch); // warm the code (tier-up)
  const n = h.calibrateBatch(f);
  for (let i = 0; i < h.iterations; i++) {
    const t0 = h.now();
    f(n);
    h.recordBatch(h.now() - t0, n);
  }
}
