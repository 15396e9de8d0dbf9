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
  if (spec.method !== undefined) return `${spec.on ?? "handle"}.${spec.method}(${args})`;
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
    return { api: glue, memory: exports.memory, heap: () => h.heapBytesOf(exports.memory), words: "through the wasm-bindgen glue" };
  }
  const imports = await rawImports(h);
  const { instance } = await h.instantiate(imports.make());
  const memory = Object.values(instance.exports).find((v) => v instanceof WebAssembly.Memory);
  return { api: instance.exports, memory, heap: () => h.heapBytes(instance), words: `on the module's exports${imports.words}` };
}

// The setup call's result (undefined without one), the timed call (null for
// a soak, which has none), and the teardown, for a warm subject.
export function calls(h, api) {
  const p = h.params;
  const handle = p.setup ? caller(api, undefined, p.setup, h)(0, 1) : undefined;
  const call = p.call ? caller(api, handle, p.call, h) : null;
  const teardown = p.teardown ? () => caller(api, handle, p.teardown, h)(0, 1) : () => {};
  const setupWords = p.setup ? `, after the untimed setup ${spelled(p.setup)}` : "";
  return { handle, call, teardown, setupWords };
}

// The linear memory of a warm subject, for the state checks below.
function memoryOf(s) {
  return s.memory ? s.memory.buffer : null;
}

// FNV-1a over the linear memory, four bytes at a time: whether a call
// changed the module's state (its memory's contents or size).
export function memoryHash(s) {
  const buf = memoryOf(s);
  if (!buf) return 0;
  const words = new Int32Array(buf, 0, buf.byteLength >> 2);
  let x = 0x811c9dc5 ^ buf.byteLength;
  for (let k = 0; k < words.length; k++) x = Math.imul(x ^ words[k], 0x01000193);
  return x >>> 0;
}

// Whether `run(i)` changes the linear memory when repeated: the first call
// may set up what every later call reuses (a shadow stack, a lazily built
// table), so the check compares the memory after the second and third.
export function changesState(s, run, i0) {
  run(i0);
  run(i0 + 1);
  const before = memoryHash(s);
  run(i0 + 2);
  return memoryHash(s) !== before;
}

// The words a figure carries when its call changed nothing the gate can see.
export function guardsLittle(what, changed) {
  return changed
    ? ""
    : `. ${what} changed no linear memory over repeated calls (a constant, or a pure function): this figure guards little; name a heavier export or write a scenario`;
}

// A seeded permutation of 0..n (xorshift32 over the seed and the
// operation's index, Fisher-Yates): the soak's order for operation `i`.
export function seededOrder(n, seed, i) {
  let x = ((Number(BigInt.asUintN(32, BigInt(seed))) ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0) || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  const order = Array.from({ length: n }, (_, k) => k);
  for (let k = n - 1; k > 0; k--) {
    const j = next() % (k + 1);
    [order[k], order[j]] = [order[j], order[k]];
  }
  return order;
}

// The soak of h.params.soak: each class a `new` entry names is constructed
// once, untimed, and its instance is the handle of the entries whose `on`
// names that class; the other entries use the setup's handle. One
// operation calls every other entry once, in a seeded order. Returns the
// operation, the teardown (frees each instance) and the words.
export function soaker(h, api, setupHandle) {
  const instances = {};
  const entries = [];
  for (const [at, spec] of h.params.soak.entries()) {
    if (spec.new !== undefined) {
      instances[spec.new] = caller(api, undefined, spec, h)(0, 1);
      continue;
    }
    const handle = spec.on !== undefined ? instances[spec.on] : setupHandle;
    if (spec.on !== undefined && handle === undefined) {
      throw new Error(`builtin: soak entry ${spelled(spec)} is on \`${spec.on}\`, which no \`new\` entry before it constructs`);
    }
    entries.push({ call: caller(api, handle, spec, h), spec, at });
  }
  const op = (i) => {
    for (const k of seededOrder(entries.length, h.seed, i)) {
      try {
        entries[k].call(i, 1);
      } catch (e) {
        const err = new Error(`builtin: soak call ${spelled(entries[k].spec)} threw at operation ${i}: ${e}`);
        err.soakIndex = entries[k].at;
        throw err;
      }
    }
  };
  const teardown = () => {
    for (const obj of Object.values(instances)) if (obj && typeof obj.free === "function") obj.free();
  };
  const names = entries.map((e) => spelled(e.spec));
  const made = h.params.soak.filter((spec) => spec.new !== undefined).map(spelled);
  const on = made.length ? ` (on ${made.join(", ")}, constructed once before the warm-up)` : "";
  return { op, teardown, names, words: `each operation calls ${entries.length} exports in a seeded order: ${names.join(", ")}${on}` };
}
