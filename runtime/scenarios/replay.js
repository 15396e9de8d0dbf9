// M-PERF-04D: deterministic replay overhead. The gate runs this scenario on
// two builds of the profile, interleaved: the trace build (which exports
// replay_prepare) replays a recording of the seeded mixed workload (load +
// step + check every event); the reference build without the trace feature
// runs the same workload plainly. The gate's value is the ratio of the two
// builds' medians, minus one, in percent.
import { warmInstance } from "./common.js";

const TASKS = 96;

export default async function (h) {
  const inst = await warmInstance(h);
  const { replay_prepare, replay_run, workload_run } = inst.exports;
  let once;
  if (replay_prepare) {
    replay_prepare(h.seed, TASKS);
    once = () => {
      if (replay_run(h.seed, TASKS, 1) !== 1) throw new Error("replay diverged");
    };
  } else {
    once = () => workload_run(h.seed, TASKS);
  }
  const runs = (n) => {
    for (let k = 0; k < n; k++) once();
  };
  // Warm long enough for V8's background tier-up of the hot functions to
  // land (every block compiles a fresh module), so no block mixes tiers.
  for (const t0 = h.now(); h.now() - t0 < 100; ) runs(4);
  const n = h.calibrateBatch(runs, 0.5, 1);
  h.describe(
    `replay overhead: the seeded mixed workload (${TASKS} tasks), replayed from its recording on the trace build ` +
      `vs run on the same profile built without the trace feature; each sample times a batch of runs (the mean per run is recorded)`,
  );
  for (let i = 0; i < h.iterations; i++) {
    const t0 = h.now();
    runs(n);
    h.recordBatch(h.now() - t0, n);
  }
}
