// builtin:heap: the steady-state heap after `h.warmup` operations, then one
// heap sample (JS heap after a full GC plus the wasm linear memory) after
// each of `h.iterations` more. An operation is one call of an export
// (`call`), or a soak of the crate's surface (`soak`): every export and
// method listed, once each, in a seeded order. The gate fails a "steady
// state" that keeps growing, whatever its p95.
import { calls, changesState, guardsLittle, soaker, spelled, warmSubject } from "./common.js";

export default async function (h) {
  const s = await warmSubject(h);
  let op;
  let done;
  let what;
  let words;
  const c = calls(h, s.api);
  if (h.params.soak) {
    const soak = soaker(h, s.api, c.handle);
    op = soak.op;
    done = () => {
      soak.teardown();
      c.teardown();
    };
    what = "The soak";
    words = `${soak.words}${c.setupWords}`;
  } else {
    op = (i) => c.call(i, 1);
    done = c.teardown;
    what = spelled(h.params.call);
    words = `calls of ${what}${c.setupWords}`;
  }
  let i = 0;
  for (let w = 0; w < h.warmup; w++) op(i++);
  for (let k = 0; k < h.iterations; k++) {
    op(i++);
    h.recordBytes(s.heap());
  }
  const changed = changesState(s, op, i);
  done();
  h.describe(
    `steady-state heap: ${h.warmup} operations (${words}) ${s.words}, then one sample after each further operation: ` +
      h.heapWords +
      guardsLittle(what, changed),
  );
}
