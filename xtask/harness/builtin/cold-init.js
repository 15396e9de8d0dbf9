// builtin:cold-init: compile + instantiate (+ the glue's start, for
// wasm-bindgen) + one optional call, on fresh bytes (V8's module cache
// defeated) prepared, with a GC, before the clock starts. Compiled
// synchronously on the page's thread where the engine allows it, so no
// thread hop or task-queue wait of the browser's lands in the window.
import { caller, rawImports, spelled } from "./common.js";

// Untimed samples opening every block: its first cold samples also run the
// page's own JS cold.
const WARM = 8;

export default async function (h) {
  const spec = h.params.call;
  let instantiate;
  let words;
  if (h.bindgen) {
    const cold = await h.glueCold();
    instantiate = (c) => (c.canSync ? cold.instantiate(c.bytes) : cold.instantiateAsync(c.bytes));
    words = "the wasm-bindgen glue's instantiate and start";
  } else {
    const imports = await rawImports(h);
    instantiate = (c) =>
      c.canSync
        ? new WebAssembly.Instance(new WebAssembly.Module(c.bytes), imports.make()).exports
        : c.instantiate(imports.make()).then((r) => r.instance.exports);
    words = `instantiate${imports.words}`;
  }
  let sync = true;
  let collected = true;
  for (let i = -WARM; i < h.iterations; i++) {
    const c = await h.prepareCold();
    sync = sync && c.canSync;
    collected = collected && c.collected !== false;
    const t0 = h.now();
    // No await on the synchronous path: not even a microtask turn in the window.
    let api = instantiate(c);
    if (api instanceof Promise) api = await api;
    const result = spec ? caller(api, undefined, spec, h)(i, 1) : undefined;
    const t = h.now() - t0;
    if (i >= 0) h.record(t);
    if (result && typeof result.free === "function") result.free();
  }
  // What "compile" covers depends on the engine, and the figure says so.
  const ua = navigator.userAgent;
  const compile = /Firefox\//.test(ua)
    ? "compile (SpiderMonkey compiles every function with its baseline compiler up front; optimized code comes later, on helper threads)"
    : /Chrome\//.test(ua) || !/AppleWebKit\//.test(ua)
      ? "compile (under V8's default lazy compilation only the functions that run are compiled; under --no-wasm-lazy-compilation every function is)"
      : "compile (JavaScriptCore prepares every function for its in-place interpreter; its BBQ and OMG compilers tier hot functions up later)";
  h.describe(
    `cold init: decode, validate, ${compile}, ${words}` +
      (spec ? `, then ${spelled(spec)}` : "") +
      `, on fresh bytes (module cache defeated) ` +
      (sync ? "compiled synchronously on the page's thread" : "compiled asynchronously (above the synchronous-compile limit)") +
      (collected ? "; a garbage collection runs before the clock starts" : "; no GC is forced (this browser gives a page no gc())") +
      `; ${WARM} untimed samples open each block`,
  );
}
