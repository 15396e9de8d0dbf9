// Shared helpers for this crate's scenarios: the imports the runtime needs.
export function imports() {
  return { env: { now_ms: () => performance.now() } };
}

// Warm one instance (not cold) for scenarios that time steady-state work.
export async function warmInstance(h) {
  const { instance } = await h.instantiate(imports());
  instance.exports.rt_init(h.seed);
  return instance;
}

// The micro-scale scenarios (the 04 group): one operation is far below the
// timer resolution, so each sample times a calibrated batch
// (h.calibrateBatch) and records the per-operation mean.
export async function microScenario(h, exportName, what) {
  const inst = await warmInstance(h);
  const f = inst.exports[exportName];
  if (typeof f !== "function") throw new Error(`this build does not export ${exportName}`);
  h.describe(`${what}, timed in batches`);
  // Warm long enough for V8's background tier-up to land (every block
  // compiles a fresh module), so no block mixes baseline and optimized code.
  for (const t0 = h.now(); h.now() - t0 < 100; ) f(h.batch);
  const n = h.calibrateBatch(f);
  for (let i = 0; i < h.iterations; i++) {
    const t0 = h.now();
    f(n);
    h.recordBatch(h.now() - t0, n);
  }
}
