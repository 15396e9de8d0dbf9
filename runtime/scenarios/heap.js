// M-PERF-03A: steady-state heap after warmup: JS heap + wasm linear memory.
import { warmInstance } from "./common.js";

export default async function (h) {
  const inst = await warmInstance(h);
  const { heap_op } = inst.exports;
  h.describe(`steady-state heap: heap_op(seeded mixed workload, bounded retention); heap = ${h.heapWords}`);
  let i = h.seed * 1000;
  for (let w = 0; w < h.warmup; w++) heap_op(i++);
  for (let s = 0; s < h.iterations; s++) {
    heap_op(i++);
    h.recordBytes(h.heapBytes(inst));
  }
}
