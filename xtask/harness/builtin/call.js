// builtin:call: the latency of one call of an export, as data in
// budgets.toml (`call`, and `setup`/`teardown` for a handle-based API).
// One call is usually below the clock's step, so a sample times a batch of
// calls (sized until it spans 50 steps) and records the mean per call; an
// export that takes the operation count itself (`"$n"`) is called once per
// sample with the batch size.
import { calls, changesState, guardsLittle, selfBatched, spelled, warmSubject } from "./common.js";

export default async function (h) {
  const s = await warmSubject(h);
  const { call, teardown, setupWords } = calls(h, s.api);
  const own = selfBatched(h.params.call);
  let i = 0;
  const run = own
    ? (n) => call(i++, n)
    : (n) => {
        for (let k = 0; k < n; k++) call(i++, 1);
      };
  const warmed = h.warmUp(() => run(own ? h.batch : 1));
  const n = h.calibrateBatch(run, 0.25, own ? h.batch : 1);
  for (let k = 0; k < h.iterations; k++) {
    const t0 = h.now();
    run(n);
    h.recordBatch(h.now() - t0, n);
  }
  const changed = changesState(s, (j) => call(j, 1), i);
  teardown();
  h.describe(
    `one call of ${spelled(h.params.call)} ${s.words}${setupWords}, warm (each block first calls it until the time per call stops dropping, the engine's tier-up: ${warmed.toFixed(0)} ms in the last block); ` +
      (own
        ? `each sample is one call running ${n} operations (the export's own loop), recorded as the mean per operation`
        : n > 1
          ? `each sample times a batch of ${n} calls (one call is below the clock's resolution) and records the mean per call`
          : "each sample times one call") +
      guardsLittle(spelled(h.params.call), changed),
  );
}
