// M-PERF-03B: cancellation response, from the cancel request to the
// joiner-observable Cancelled outcome, with seeded drain work per step.
import { warmInstance } from "./common.js";

export default async function (h) {
  const inst = await warmInstance(h);
  const { cancel_prepare, cancel_fire } = inst.exports;
  let x = h.seed;
  h.describe("cancellation response: cancel_fire (request -> checkpoint -> cleanup -> Cancelled outcome), seeded drain work of 0-20000 mixing steps between checkpoints");
  for (let i = 0; i < h.iterations; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const task = cancel_prepare(x % 20000);
    const t0 = h.now();
    const ok = cancel_fire(task);
    h.record(h.now() - t0);
    if (ok !== 1) throw new Error(`task ${task} did not end Cancelled`);
  }
}
