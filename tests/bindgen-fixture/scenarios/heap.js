// Steady-state heap through the glue: bump seeded string keys, trimming to a
// bounded store.
export default async function (h) {
  const { glue, exports } = await h.glue();
  const store = new glue.Store();
  let x = h.seed;
  const op = () => {
    for (let k = 0; k < 64; k++) {
      x = (x * 1103515245 + 12345) % 2147483648;
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
