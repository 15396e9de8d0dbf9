// M-PERF-04: timeout arm + cancel, per operation (see microScenario in common.js).
import { microScenario } from "./common.js";

export default (h) => microScenario(h, "bench_timer", "timeout arm + cancel");
