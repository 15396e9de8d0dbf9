// M-PERF-04D: deterministic replay overhead. The gate runs this scenario
// paired: `h` is the trace build (which exports replay_prepare), replaying a
// recording of the seeded mixed workload (load + step + check every event);
// `h.pair` is the same profile built without the trace feature, running the
// same workload plainly. The two builds alternate batch by batch within the
// block, so whatever the host does to one it does to the other within a
// millisecond. The gate's value is the ratio of the two sides' medians,
// minus one, in percent.
import { warmInstance } from "./common.js";

const TASKS = 96;

// One build's work: replay on a build with the trace, the plain workload on
// one without.
async function sideOf(h) {
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
  return { h, runs };
}

export default async function (h) {
  const sides = [await sideOf(h)];
  if (h.pair) sides.push(await sideOf(h.pair));
  // Warm long enough for V8's background tier-up of the hot functions to
  // land (every block compiles fresh modules), so no block mixes tiers.
  for (const t0 = h.now(); h.now() - t0 < 100 * sides.length; ) for (const s of sides) s.runs(4);
  // One batch size for both builds (the gate fixes it after the first block).
  const n = h.calibrateBatch(sides[0].runs, 0.5, 1);
  h.describe(
    `replay overhead: the seeded mixed workload (${TASKS} tasks), replayed from its recording on the trace build ` +
      `vs run on the same profile built without the trace feature, the two alternating batch by batch in one block ` +
      `(ABBA order); each sample times a batch of runs (the mean per run is recorded)`,
  );
  for (let i = 0; i < h.iterations; i++) {
    // ABBA: neither build always runs first after the other.
    const order = i % 2 === 0 ? sides : [...sides].reverse();
    for (const s of order) {
      const t0 = h.now();
      s.runs(n);
      s.h.recordBatch(h.now() - t0, n);
    }
  }
}
