// Steady-state heap through the glue: bump seeded string keys, trimming to a
// bounded store.
//
// The generator is exact 32-bit arithmetic (Math.imul). It used to be
// `(x * 1103515245 + 12345) % 2147483648` in doubles: the product passes
// 2^53, loses its low bits, and the keys collapsed to 166 distinct values,
// so the store never exceeded 1024 keys, trim never ran, and the trace
// builds' log (drained only by trim) grew without bound: 1.4 -> 16 MiB of
// wasm memory over 6000 operations. The p95 "steady-state" figure passed
// it; the growth check now fails such a window.
export default async function (h) {
  const { glue, exports } = await h.glue();
  const store = new glue.Store();
  let x = h.seed;
  const op = () => {
    for (let k = 0; k < 64; k++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      store.bump("key-" + (x % 4096));
    }
    store.trim(1024);
  };
  h.describe("steady-state heap: 64 seeded string-key bumps + trim to 1024 per operation; heap = JS heap + wasm memory");
  for (let w = 0; w < h.warmup; w++) op();
  for (let s = 0; s < h.iterations; s++) {
    op();
    h.recordBytes(h.heapBytesOf(exports.memory));
  }
}
