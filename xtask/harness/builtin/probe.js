// `cargo xtask init`'s probe (not a metric: budgets.toml cannot name it).
// Each candidate call (h.params.candidates) runs on a fresh warm subject,
// so one that traps cannot poison the next: called once (does it throw?),
// checked for a change of the linear memory over repeated calls, then
// timed as the mean per call of the fastest of five batches, each sized to
// span at least 25 clock steps and 1 ms. With h.params.soak, the soak is
// then run for h.params.ops operations on a fresh subject. The findings go
// back as JSON in the method text; the samples are the times per call.
import { caller, changesState, soaker, warmSubject } from "./common.js";

function timeBatch(run, n) {
  const t0 = performance.now();
  run(n);
  return performance.now() - t0;
}

async function probeOne(h, spec) {
  const s = await warmSubject(h);
  const p = h.params;
  let handle;
  try {
    if (spec.on !== undefined) handle = caller(s.api, undefined, p.classes[spec.on], h)(0, 1);
    else if (p.setup) handle = caller(s.api, undefined, p.setup, h)(0, 1);
  } catch (e) {
    return { throws: `its setup threw: ${e}` };
  }
  const call = caller(s.api, handle, spec, h);
  let returns;
  try {
    returns = typeof call(0, 1);
  } catch (e) {
    return { throws: String(e).slice(0, 300) };
  }
  try {
    const changed = changesState(s, (i) => call(i, 1), 1);
    const run = (n) => {
      for (let k = 0; k < n; k++) call(k, 1);
    };
    const want = Math.max(1, 25 * h.tick());
    const t1 = timeBatch(run, 1);
    let n = 1;
    if (t1 < 10) {
      const warmEnd = performance.now() + 5;
      while (performance.now() < warmEnd) run(1);
      while (n < 1 << 20 && Math.min(timeBatch(run, n), timeBatch(run, n)) < want) n *= 2;
    }
    let best = Infinity;
    for (let k = 0; k < (t1 < 10 ? 5 : 2); k++) best = Math.min(best, timeBatch(run, n) / n);
    if (handle && typeof handle.free === "function") handle.free();
    return { ms: best, batch: n, changed, returns };
  } catch (e) {
    return { throws: `on a repeated call: ${String(e).slice(0, 300)}` };
  }
}

export default async function (h) {
  const p = h.params;
  const out = { candidates: [], soak: null };
  for (const spec of p.candidates) {
    const r = await probeOne(h, spec);
    out.candidates.push(r);
    if (r.ms !== undefined) h.record(r.ms);
  }
  if (p.soak) {
    const s = await warmSubject(h);
    const handle = p.setup ? caller(s.api, undefined, p.setup, h)(0, 1) : undefined;
    try {
      const soak = soaker(h, s.api, handle);
      for (let i = 0; i < p.ops; i++) soak.op(i);
      soak.teardown();
      out.soak = { ok: true };
    } catch (e) {
      out.soak = { ok: false, at: e.soakIndex ?? null, error: String(e).slice(0, 400) };
    }
  }
  if (out.candidates.every((r) => r.ms === undefined)) h.record(0);
  h.describe(JSON.stringify(out));
}
