// Harness overhead: a scenario that times nothing. Each sample is two clock
// reads and a record() call; the per-seed wall time divided by the samples
// is the harness's cost per sample, and the recorded values show the clock
// floor (0 or one 5 us tick).
export default async function (h) {
  h.describe("empty scenario: h.record(h.now() - t0) with nothing in between");
  for (let i = 0; i < h.iterations; i++) {
    const t0 = h.now();
    h.record(h.now() - t0);
  }
}
