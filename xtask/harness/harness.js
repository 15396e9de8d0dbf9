// The gate's harness page. It owns no knowledge of the subject: it loads the
// profile's artifact and one scenario module, and hands the scenario the
// contract documented in SCENARIOS.md. Called over CDP as
// `window.__budget.run({...})`, which resolves to a JSON string.

let nonce = 0;

// Append a custom section with a fresh nonce: the wire bytes differ, so V8's
// in-memory module cache (keyed on the bytes) misses and every compile is
// really cold.
function uniqueBytes(bytes) {
  nonce += 1;
  const name = new TextEncoder().encode("budget-nonce");
  const payload = new Uint8Array(8);
  new DataView(payload.buffer).setFloat64(0, nonce + Math.random());
  const body = [name.length, ...name, ...payload];
  const out = new Uint8Array(bytes.length + 2 + body.length);
  out.set(bytes, 0);
  out[bytes.length] = 0; // custom section id
  out[bytes.length + 1] = body.length; // < 128, one LEB byte
  out.set(body, bytes.length + 2);
  return out;
}

function timerResolutionMs() {
  let min = Infinity;
  let last = performance.now();
  for (let i = 0; i < 200000 && min > 0.001; i++) {
    const t = performance.now();
    if (t !== last) {
      min = Math.min(min, t - last);
      last = t;
    }
  }
  return min;
}

// Reference workload for calibrating CPU throttling: fixed integer work.
function referenceMs() {
  const t0 = performance.now();
  let x = 1;
  for (let i = 0; i < 3e6; i++) x = (x * 1103515245 + 12345) % 2147483648;
  const t = performance.now() - t0;
  if (x < 0) throw new Error("unreachable");
  return t;
}

async function run(spec) {
  const resp = await fetch(spec.wasm, { cache: "no-store" });
  if (!resp.ok) throw new Error(`fetching ${spec.wasm}: HTTP ${resp.status}`);
  const bytes = new Uint8Array(await resp.arrayBuffer());
  const scenario = await import(spec.scenario);
  if (typeof scenario.default !== "function") {
    throw new Error(`${spec.scenario} has no default export function`);
  }
  const samples = [];
  let quantity = null;
  let opsPerSample = 1;
  let note = "";
  const want = (q) => {
    if (quantity !== null && quantity !== q) throw new Error(`scenario mixes ${quantity} and ${q} samples`);
    quantity = q;
  };
  let cachedModule = null;
  let glueCopies = 0;
  const h = {
    seed: spec.seed,
    iterations: spec.iterations,
    warmup: spec.warmup,
    batch: spec.batch,
    bytes,
    now: () => performance.now(),
    record(ms) { want("time_ms"); samples.push(ms); },
    recordBatch(totalMs, n) { want("time_ms"); opsPerSample = n; samples.push(totalMs / n); },
    recordBytes(b) { want("bytes"); samples.push(b); },
    recordPercent(p) { want("percent"); samples.push(p); },
    describe(text) { note = String(text); },
    // The batch size for a micro-scale operation `f(n)` (runs n ops): the
    // smallest power-of-two multiple of h.batch whose run takes at least
    // minMs (default 0.25 ms = 50 steps of the 5 us clock), so one clock
    // step is at most 2 % of a sample. Recorded per-op means then move in
    // steps of 2 %, not of whole timer ticks.
    calibrateBatch(f, minMs = 0.25) {
      let n = spec.batch;
      for (;;) {
        const t0 = performance.now();
        f(n);
        if (performance.now() - t0 >= minMs || n >= (1 << 22)) return n;
        n *= 2;
      }
    },
    // wasm-bindgen subjects: the generated glue (--target web), initialized
    // once with the subject's bytes. Also returns the import object the glue
    // handed to WebAssembly.instantiate, so a scenario can instantiate the
    // subject cold many times with the real glue imports: the glue caches
    // one instance per module copy, and module copies are never collected,
    // so instantiating fresh glue copies thousands of times runs the page
    // out of memory.
    async glue() {
      if (!spec.glue) throw new Error("this subject has no wasm-bindgen glue");
      glueCopies += 1;
      const glue = await import(`${spec.glue}?copy=${spec.seed}-${glueCopies}`);
      const real = WebAssembly.instantiate;
      let imports = null;
      WebAssembly.instantiate = (b, imp) => { imports = imp; return real(b, imp); };
      let exports;
      try {
        exports = await glue.default({ module_or_path: bytes });
      } finally {
        WebAssembly.instantiate = real;
      }
      if (!imports) throw new Error("the glue did not call WebAssembly.instantiate");
      return { glue, exports, imports };
    },
    uniqueBytes() { return uniqueBytes(bytes); },
    heapBytesOf(...memories) {
      if (typeof gc === "function") gc();
      let n = performance.memory ? performance.memory.usedJSHeapSize : 0;
      for (const m of memories) n += m.buffer.byteLength;
      return n;
    },
    // JS heap (precise with --enable-precise-memory-info) plus the wasm
    // linear memory of the given instance(s).
    heapBytes(...instances) {
      if (typeof gc === "function") gc();
      let n = performance.memory ? performance.memory.usedJSHeapSize : 0;
      for (const i of instances) {
        for (const v of Object.values(i.exports)) {
          if (v instanceof WebAssembly.Memory) n += v.buffer.byteLength;
        }
      }
      return n;
    },
    // Compile + instantiate with V8's module cache defeated.
    async instantiateCold(imports) {
      const { instance, module } = await WebAssembly.instantiate(uniqueBytes(bytes), imports);
      return { instance, module };
    },
    // Instantiate from one compiled module (warm).
    async instantiate(imports) {
      if (!cachedModule) cachedModule = await WebAssembly.compile(bytes);
      return { instance: await WebAssembly.instantiate(cachedModule, imports), module: cachedModule };
    },
  };
  await scenario.default(h);
  if (quantity === null) throw new Error(`${spec.scenario} recorded no samples`);
  return JSON.stringify({ quantity, samples, opsPerSample, note });
}

window.__budget = {
  run: (spec) => run(spec),
  probe: () => JSON.stringify({
    timerResolutionMs: timerResolutionMs(),
    crossOriginIsolated: self.crossOriginIsolated === true,
    userAgent: navigator.userAgent,
  }),
  reference: () => referenceMs(),
};
window.__budgetReady = true;
