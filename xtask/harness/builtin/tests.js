// builtin:tests: the crate's own #[wasm_bindgen_test] functions, run the
// way wasm-bindgen-test's browser runner runs them: the test module (cargo
// test --no-run, through wasm-bindgen like the shipped module) exports each
// test as `__wbgt_<modifiers>_<path>::<name>`, and its runtime's
// `WasmBindgenTestContext.run(tests)` drives them, resolving to whether all
// passed. One pass is a fresh context running h.params.tests.only (every
// test that is not #[ignore]d when the list is empty), then freed; the
// output it writes to the page's #output is read for failures and cleared,
// so the page does not grow with the passes. A timing records one pass per
// sample; a heap metric samples after each pass (as builtin:heap does
// after each operation). With h.params.probe (init), each test runs alone
// instead, and the findings go back as JSON in the method text.

const PREFIX = "__wbgt_";

// The tests of the module's exports: [{ name, ignored, fn }], by export
// order. A test's name is what follows the first "::" of its export.
export function listTests(exports) {
  const out = [];
  for (const key of Object.keys(exports)) {
    if (!key.startsWith(PREFIX) || typeof exports[key] !== "function") continue;
    const at = key.indexOf("::");
    if (at < 0) continue;
    const modifiers = key.slice(PREFIX.length).split("_")[0];
    out.push({ name: key.slice(at + 2), ignored: modifiers.includes("$"), fn: exports[key] });
  }
  return out;
}

// The tests a pass runs: those `only` names, else every one not ignored.
export function selectTests(all, only) {
  if (!only || only.length === 0) return all.filter((t) => !t.ignored);
  const byName = new Map(all.map((t) => [t.name, t]));
  const missing = only.filter((n) => !byName.has(n));
  if (missing.length) {
    throw new Error(`builtin:tests: the test module has no test ${missing.join(", ")}; it has ${all.map((t) => t.name).join(", ") || "none"}`);
  }
  return only.map((n) => byName.get(n));
}

// The page the test runtime expects: an #output element to write to, and
// the global it calls each test through (the runner's own page defines both).
function preparePage() {
  globalThis.__wbg_test_invoke ??= (f) => f();
  let out = document.getElementById("output");
  if (!out) {
    out = document.createElement("pre");
    out.id = "output";
    out.style.display = "none";
    document.body.appendChild(out);
  }
  return out;
}

// The names of the tests a run's output says failed.
function failedIn(text) {
  const names = [...text.matchAll(/^test (\S+) \.\.\. FAIL/gm)].map((m) => m[1]);
  return names.length ? names.join(", ") : text.trim().split("\n").slice(-3).join(" / ");
}

// One pass over `fns` in a fresh context: resolves when every test has
// finished; throws when one failed.
async function runPass(glue, out, fns) {
  const cx = new glue.WasmBindgenTestContext(false);
  let ok;
  try {
    ok = await cx.run(fns);
  } finally {
    cx.free();
  }
  const text = out.textContent;
  out.textContent = "";
  if (ok !== true) throw new Error(`builtin:tests: a test failed: ${failedIn(text)}`);
}

// Warm the page up: passes until at least five have run and 100 ms have
// passed (at most 2 s), so the first passes' compiles and lazy set-up are
// not in the samples.
async function warm(pass) {
  const t0 = performance.now();
  for (let k = 0; ; k++) {
    const at = performance.now() - t0;
    if ((k >= 5 && at >= 100) || at >= 2000) return at;
    await pass();
  }
}

// init's probe: each test alone, in its own context: does it pass, and the
// median time of five passes of it alone.
async function probe(h, glue, out, all) {
  const found = [];
  for (const t of all) {
    if (t.ignored) {
      found.push({ name: t.name, ignored: true, passes: false, ms: 0 });
      continue;
    }
    try {
      await runPass(glue, out, [t.fn]);
      const times = [];
      for (let k = 0; k < 5; k++) {
        const t0 = performance.now();
        await runPass(glue, out, [t.fn]);
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      found.push({ name: t.name, ignored: false, passes: true, ms: times[2] });
      h.record(times[2]);
    } catch (e) {
      out.textContent = "";
      found.push({ name: t.name, ignored: false, passes: false, ms: 0, error: String(e).slice(0, 300) });
    }
  }
  if (found.every((f) => !f.passes)) h.record(0);
  h.describe(JSON.stringify({ tests: found, tick: h.tick() }));
}

export default async function (h) {
  const { glue, exports } = await h.glue();
  if (typeof glue.WasmBindgenTestContext !== "function") {
    throw new Error("builtin:tests: the test module has no WasmBindgenTestContext (is wasm-bindgen-test a dev-dependency, and does the target use #[wasm_bindgen_test]?)");
  }
  const out = preparePage();
  const all = listTests(exports);
  if (h.params.probe) return probe(h, glue, out, all);
  const spec = h.params.tests;
  const tests = selectTests(all, spec.only);
  if (tests.length === 0) throw new Error(`builtin:tests: test target \`${spec.target}\` has no test to run`);
  const fns = tests.map((t) => t.fn);
  const pass = () => runPass(glue, out, fns);
  const warmed = await warm(pass);
  const words = `${tests.length} #[wasm_bindgen_test] function${tests.length === 1 ? "" : "s"} of test target \`${spec.target}\` (${tests.map((t) => t.name).join(", ")}), run as wasm-bindgen-test runs them, in a fresh test context per pass; the test module is cargo's, through wasm-bindgen, with the profile's features and cargo profile, not optimized`;
  if (h.params.heap) {
    for (let w = 0; w < h.warmup; w++) await pass();
    for (let k = 0; k < h.iterations; k++) {
      await pass();
      h.recordBytes(h.heapBytesOf(exports.memory));
    }
    h.describe(`steady-state heap: ${h.warmup} passes over ${words}, then one sample after each further pass: ${h.heapWords}`);
    return;
  }
  for (let k = 0; k < h.iterations; k++) {
    const t0 = h.now();
    await pass();
    h.record(h.now() - t0);
  }
  h.describe(`one pass over ${words}; warm (${warmed.toFixed(0)} ms of passes first); each sample times one pass`);
}
