// M-PERF-02A/B (and the eager-compilation figure): cold init. The nonce'd
// copy of the bytes (which defeats V8's in-memory module cache) and a
// collection happen before the clock starts; the window holds decode,
// validation, compilation, instantiation and rt_init, run synchronously on
// the page's thread (h.prepareCold explains why), so no thread hop or
// task-queue wait of the browser's lands in the figure.
import { imports } from "./common.js";

// Untimed samples at the start of every block: the first cold samples of a
// block run the page's own JS cold too (seen: a first block's p95 twice the
// rest).
const WARM = 8;

export default async function (h) {
  let how = "";
  let collected = true;
  for (let i = -WARM; i < h.iterations; i++) {
    const cold = await h.prepareCold();
    collected = collected && cold.collected !== false;
    const t0 = h.now();
    const instance = cold.canSync
      ? new WebAssembly.Instance(new WebAssembly.Module(cold.bytes), imports())
      : (await cold.instantiate(imports())).instance;
    instance.exports.rt_init(h.seed + i);
    const t = h.now() - t0;
    if (i >= 0) h.record(t);
    how = cold.canSync ? "new WebAssembly.Module + new WebAssembly.Instance (synchronous)" : "await WebAssembly.instantiate (asynchronous: the module is above the synchronous-compile limit)";
  }
  h.describe(
    `cold init: ${how} on fresh bytes, then rt_init(seed): decode, validate, compile ` +
      (/Firefox\//.test(navigator.userAgent)
        ? "(SpiderMonkey compiles every function with its baseline compiler up front; optimized (Ion) code is compiled later on helper threads), "
        : "(with V8's default lazy compilation only the functions init calls are compiled; under --no-wasm-lazy-compilation every function is), ") +
      `instantiate, rt_init. Bytes are prepared before the clock starts, ` +
      (collected
        ? "and a garbage collection runs before it (young generation before every sample, full before every 32nd)"
        : "but no GC is forced (this browser gives a page no gc()): the garbage of earlier samples is collected on the engine's own schedule, sometimes inside a window") +
      `; ${WARM} untimed samples open each block`,
  );
}
