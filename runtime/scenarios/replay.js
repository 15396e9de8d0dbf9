// M-PERF-04D: deterministic replay (load the recording + step + check every
// event) against the same workload without trace, as a percentage.
import { warmInstance } from "./common.js";

export default async function (h) {
  const inst = await warmInstance(h);
  const { replay_prepare, replay_run } = inst.exports;
  if (!replay_prepare) throw new Error("this build has no trace feature (replay_prepare missing)");
  const tasks = 96;
  h.describe(`replay overhead: per sample, 16 alternating runs each of the seeded mixed workload (${tasks} tasks) plain vs replayed; sample = (replay - plain) / plain x 100`);
  replay_prepare(h.seed, tasks);
  for (let i = 0; i < 20; i++) { replay_run(h.seed, tasks, 0); replay_run(h.seed, tasks, 1); }
  for (let i = 0; i < h.iterations; i++) {
    let plain = 0, replay = 0;
    for (let k = 0; k < 16; k++) {
      // Alternate the order so drift hits both sides alike.
      if ((i + k) % 2 === 0) {
        let t0 = h.now(); replay_run(h.seed, tasks, 0); plain += h.now() - t0;
        t0 = h.now(); if (replay_run(h.seed, tasks, 1) !== 1) throw new Error("replay diverged");
        replay += h.now() - t0;
      } else {
        let t0 = h.now(); if (replay_run(h.seed, tasks, 1) !== 1) throw new Error("replay diverged");
        replay += h.now() - t0;
        t0 = h.now(); replay_run(h.seed, tasks, 0); plain += h.now() - t0;
      }
    }
    h.recordPercent(((replay - plain) / plain) * 100);
  }
}
