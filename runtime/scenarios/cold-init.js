// M-PERF-02A/B (and the eager-compilation figure): cold init. The nonce'd
// copy of the bytes (which defeats V8's in-memory module cache) and a full
// GC happen before the clock starts; the window holds decode, validation,
// compilation, instantiation and rt_init.
import { imports } from "./common.js";

export default async function (h) {
  h.describe(
    "cold init: WebAssembly.instantiate(fresh bytes) + rt_init(seed): decode, validate, compile " +
      "(with V8's default lazy compilation only the functions init calls are compiled; under --no-wasm-lazy-compilation every function is), " +
      "instantiate, rt_init. Bytes are prepared and a GC runs before the clock starts ",
  );
  for (let i = 0; i < h.iterations; i++) {
    const cold = await h.prepareCold();
    const t0 = h.now();
    const { instance } = await cold.instantiate(imports());
    instance.exports.rt_init(h.seed + i);
    h.record(h.now() - t0);
  }
}
