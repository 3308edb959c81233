// One fault of the suite: what it does, and how long the system took to come back from it.
import type { ChaosContext } from "./context.ts";
import type { OutageReport } from "./outage-probes.ts";

export interface Recovery {
  /** Seconds from the fault's end (a restart, space given back, a kill) to the system working again. */
  seconds: number;
  /** What those seconds span, for the table: "kill → video ready". */
  span: string;
  /** The api's answers while a store was down (outage faults only). */
  outage?: OutageReport;
}

export interface Scenario {
  /** A short name to pick it on the command line (`bun run chaos redis-job`). */
  name: string;
  fault: string;
  /** Injects the fault and drives the system through it; violations go to `ctx.violated`. */
  run(ctx: ChaosContext): Promise<Recovery>;
}
