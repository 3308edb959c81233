// The faults in the order they run: each leaves the farm whole for the next.
import type { Scenario } from "../scenario.ts";
import { diskFullDuringTranscode, diskFullDuringUpload } from "./disk.ts";
import { postgresStoppedDuringJob, redisKilledDuringHeartbeats, redisKilledDuringJob } from "./outages.ts";
import { apiKilledMidUpload, transcoderKilledMidJob } from "./processes.ts";

export const SCENARIOS: readonly Scenario[] = [
  transcoderKilledMidJob,
  redisKilledDuringJob,
  redisKilledDuringHeartbeats,
  postgresStoppedDuringJob,
  apiKilledMidUpload,
  diskFullDuringUpload,
  diskFullDuringTranscode,
];
