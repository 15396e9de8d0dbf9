// M-PERF-04D: deterministic replay overhead. The gate runs this scenario
// paired: `h` is the trace build (which exports replay_prepare), replaying a
// recording of the seeded mixed workload (load + step + check every event);
// `h.pair` is the same profile built without the trace feature, running the
// same workload plainly. The two builds alternate batch by batch within the
// block, so whatever the host does to one it does to the other within a
// millisecond. The gate divides each of the trace build's samples by the
// plain build's sample of the same round; a block's overhead is the median
// of these ratios, minus one, in percent. So record exactly one sample on
// each side per round.
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

// Fresh compiles of each build per block. Where a compile's code lands
// (layout, alignment) sets a level that holds for as long as that code runs:
// one pair of compiles per block gave block overheads spread 2-4 points
// around the true one. The samples rotate over the pairs, so a block's
// median averages that luck over this many compiles.
const COMPILES = 4;

export default async function (h) {
  const pairs = [];
  for (let k = 0; k < COMPILES; k++) {
    const pair = [await sideOf(h)];
    if (h.pair) pair.push(await sideOf(h.pair));
    pairs.push(pair);
  }
  // Warm every compile long enough for V8's background tier-up of its hot
  // functions to land, so no block mixes tiers.
  for (const pair of pairs) {
    for (const t0 = h.now(); h.now() - t0 < 25 * pair.length; ) for (const s of pair) s.runs(4);
  }
  // One batch size for both builds (the gate fixes it after the first block).
  const n = h.calibrateBatch(pairs[0][0].runs, 0.5, 1);
  h.describe(
    `replay overhead: the seeded mixed workload (${TASKS} tasks), replayed from its recording on the trace build ` +
      `vs run on the same profile built without the trace feature, the two alternating batch by batch in one block ` +
      `(ABBA order) over ${COMPILES} fresh compiles of each; each sample times a batch of runs (the mean per run is recorded)`,
  );
  for (let i = 0; i < h.iterations; i++) {
    // Both orders on every compile pair: ABBA, then the next pair.
    const pair = pairs[Math.floor(i / 2) % COMPILES];
    const order = i % 2 === 0 ? pair : [...pair].reverse();
    for (const s of order) {
      const t0 = h.now();
      s.runs(n);
      s.h.recordBatch(h.now() - t0, n);
    }
  }
}
