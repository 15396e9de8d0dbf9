// M-PERF-04: channel reserve + send (+ recv to free the slot), per operation (see microScenario in common.js).
import { microScenario } from "./common.js";

export default (h) => microScenario(h, "bench_reserve_send", "channel reserve + send (+ recv to free the slot)");
