// builtin:heap: the steady-state heap after `h.warmup` calls of an export,
// then one heap sample (JS heap after a full GC plus the wasm linear
// memory) after each of `h.iterations` more calls. The gate fails a
// "steady state" that keeps growing, whatever its p95.
import { calls, spelled, warmSubject } from "./common.js";

export default async function (h) {
  const s = await warmSubject(h);
  const { call, teardown, setupWords } = calls(h, s.api);
  let i = 0;
  for (let w = 0; w < h.warmup; w++) call(i++, 1);
  for (let k = 0; k < h.iterations; k++) {
    call(i++, 1);
    h.recordBytes(s.heap());
  }
  teardown();
  h.describe(
    `steady-state heap: ${h.warmup} calls of ${spelled(h.params.call)} ${s.words}${setupWords}, then one sample after each further call: ` +
      "JS heap after gc() (precise performance.memory, checked) + wasm linear memory",
  );
}
