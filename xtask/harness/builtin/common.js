// What the built-in scenarios share: the subject's API (the wasm-bindgen
// glue, or the module's own exports), its imports when it has no glue, and
// the calls budgets.toml names (h.params; see xtask/src/builtin.rs).

// The substitutions of an argument list, per call.
function resolver(args, h, handle) {
  const dynamic = args.some((a) => a === "$i" || a === "$n");
  const fixed = args.map((a) => (a === "$seed" ? h.seed : a === "$handle" ? handle : a));
  if (!dynamic) return () => fixed;
  return (i, n) => fixed.map((a) => (a === "$i" ? i : a === "$n" ? n : a));
}

// Whether the call's export runs `$n` operations itself.
export function selfBatched(spec) {
  return spec.args.includes("$n");
}

// The call `spec` on `api` (and `handle`, what the setup call returned), as a function
// of (i, n). Everything a call can resolve is resolved here, once, so the
// timed loop holds the call and nothing else.
export function caller(api, handle, spec, h) {
  const argv = resolver(spec.args, h, handle);
  const names = () => Object.keys(api).filter((k) => typeof api[k] === "function").join(", ") || "(none)";
  if (spec.new !== undefined) {
    const C = api[spec.new];
    if (typeof C !== "function") throw new Error(`builtin: no class \`${spec.new}\` to construct; exports: ${names()}`);
    return (i, n) => new C(...argv(i, n));
  }
  if (spec.method !== undefined) {
    const m = handle == null ? undefined : handle[spec.method];
    if (typeof m !== "function") throw new Error(`builtin: the setup's result has no method \`${spec.method}\``);
    return (i, n) => m.apply(handle, argv(i, n));
  }
  const f = api[spec.export];
  if (typeof f !== "function") throw new Error(`builtin: no exported function \`${spec.export}\`; exports: ${names()}`);
  return (i, n) => f(...argv(i, n));
}

// How a call reads in a method text: `new Store(16)`, `h.insert($i, "x")`.
export function spelled(spec) {
  const args = spec.args.map((a) => (typeof a === "string" && !a.startsWith("$") ? JSON.stringify(a) : String(a))).join(", ");
  if (spec.new !== undefined) return `new ${spec.new}(${args})`;
  if (spec.method !== undefined) return `handle.${spec.method}(${args})`;
  return `${spec.export}(${args})`;
}

// A raw-export module's imports: every imported function gets the
// provider budgets.toml names for it (`imports`: "now" is performance.now,
// "zero" returns 0, the default). Returns a function that makes a fresh
// import object per instance, and the words for the method text.
export async function rawImports(h) {
  const module = await WebAssembly.compile(h.bytes);
  const wanted = WebAssembly.Module.imports(module);
  const named = (h.params && h.params.imports) || {};
  const providers = { now: () => () => performance.now(), zero: () => () => 0 };
  const stubbed = [];
  for (const imp of wanted) {
    if (imp.kind !== "function") {
      throw new Error(`builtin: the module imports a ${imp.kind} (${imp.module}.${imp.name}); the built-ins provide functions only: write a scenario (SCENARIOS.md)`);
    }
    const key = `${imp.module}.${imp.name}`;
    if (!named[key]) stubbed.push(key);
  }
  const make = () => {
    const obj = {};
    for (const imp of wanted) {
      obj[imp.module] = obj[imp.module] || {};
      obj[imp.module][imp.name] = providers[named[`${imp.module}.${imp.name}`] || "zero"]();
    }
    return obj;
  };
  const words = stubbed.length ? `; imported functions without a provider return 0: ${stubbed.join(", ")}` : "";
  return { make, words };
}

// One warm instance of the subject for steady-state work: the glue's API
// and a heap probe over its memory, or the module's exports and its own.
export async function warmSubject(h) {
  if (h.bindgen) {
    const { glue, exports } = await h.glue();
    return { api: glue, heap: () => h.heapBytesOf(exports.memory), words: "through the wasm-bindgen glue" };
  }
  const imports = await rawImports(h);
  const { instance } = await h.instantiate(imports.make());
  return { api: instance.exports, heap: () => h.heapBytes(instance), words: `on the module's exports${imports.words}` };
}

// The setup call's result (undefined without one), the timed call, and the
// teardown, for a warm subject.
export function calls(h, api) {
  const p = h.params;
  const handle = p.setup ? caller(api, undefined, p.setup, h)(0, 1) : undefined;
  const call = caller(api, handle, p.call, h);
  const teardown = p.teardown ? () => caller(api, handle, p.teardown, h)(0, 1) : () => {};
  const setupWords = p.setup ? `, after the untimed setup ${spelled(p.setup)}` : "";
  return { call, teardown, setupWords };
}
