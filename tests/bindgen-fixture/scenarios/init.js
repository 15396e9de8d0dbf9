// Cold init of a wasm-bindgen subject through its glue: compile +
// instantiate fresh bytes (V8's module cache defeated) with fresh glue
// imports, wasm-bindgen's start (externref table set up), then the first
// calls a page makes: construct a Store and a string-in/string-out call,
// both through the glue (h.glueCold: no ABI spoken here). The glue's one
// evaluation, the fresh bytes and a full GC are prepared before the clock.
export default async function (h) {
  const cold = await h.glueCold();
  h.describe(
    "cold init through the glue: compile + instantiate unique bytes synchronously with fresh glue imports (h.glueCold), " +
      "__wbindgen_start, new Store(), greet(\"budget\") -> string",
  );
  for (let i = 0; i < h.iterations; i++) {
    const c = await h.prepareCold();
    const t0 = h.now();
    const g = c.canSync ? cold.instantiate(c.bytes) : await cold.instantiateAsync(c.bytes);
    const store = new g.Store();
    const hello = g.greet("budget");
    h.record(h.now() - t0);
    if (hello !== "hello, budget") throw new Error(`greet returned ${JSON.stringify(hello)}`);
    store.free();
  }
}
