// Cold init of a wasm-bindgen subject: compile + instantiate fresh bytes
// (V8's module cache defeated) with the glue's own import object, run the
// start function if any, and construct a Store through its raw export.
// The glue module's one-time evaluation is not in the figure; the fresh
// bytes and a full GC are prepared before the clock starts.
export default async function (h) {
  const { imports } = await h.glue();
  h.describe("cold init: compile + instantiate unique bytes synchronously (new WebAssembly.Module/Instance) with the wasm-bindgen glue's imports, + __wbindgen_start + store_new");
  for (let i = 0; i < h.iterations; i++) {
    const cold = await h.prepareCold();
    const t0 = h.now();
    const instance = cold.canSync ? new WebAssembly.Instance(new WebAssembly.Module(cold.bytes), imports) : (await cold.instantiate(imports)).instance;
    const x = instance.exports;
    if (x.__wbindgen_start) x.__wbindgen_start();
    const ptr = x.store_new();
    h.record(h.now() - t0);
    x.__wbg_store_free(ptr, 1);
  }
}
