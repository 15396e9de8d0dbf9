// M-PERF-02A/B: cold init = compile + instantiate + runtime init, with V8's
// in-memory module cache defeated (h.instantiateCold changes the wire bytes).
import { imports } from "./common.js";

export default async function (h) {
  h.describe("cold init: WebAssembly.instantiate of fresh bytes (compile + instantiate) plus rt_init(seed), timed with performance.now()");
  for (let i = 0; i < h.iterations; i++) {
    const t0 = h.now();
    const { instance } = await h.instantiateCold(imports());
    instance.exports.rt_init(h.seed + i);
    h.record(h.now() - t0);
  }
}
