// M-PERF-04: spawn + join of a small task (region open, close, join), per operation (see microScenario in common.js).
import { microScenario } from "./common.js";

export default (h) => microScenario(h, "bench_spawn_join", "spawn + join of a small task (region open, close, join)");
