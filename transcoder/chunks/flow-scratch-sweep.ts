// The flows' scratch on the media storage (`scratch/flows/<job>/<flow>/`, the pieces' files) that no run
// will collect any more. A flow's files normally go with it: after the ready report, or when its job
// fails or is given up (film-flow.ts). What is left is a parent removed outright (a deleted video's
// job) before any of its runs could clean up, a flow whose job re-planned after a crash, or a cleanup
// that failed. A flow is live while its job exists, is not completed and its data names that flow; any
// other flow's folder goes once nothing was written to it for the idle time (a piece of it that still
// runs on a cut-off host finds its flow unwanted and stops before it writes).
import { Job, type Queue } from "bullmq";
import type { MediaStorage, Reclaimed } from "../../storage/index.ts";
import { flowOf } from "./film-flow.ts";

const FLOWS_PREFIX = "scratch/flows/";
/** `scratch/flows/<job id in hex>/<flow id>/…` (film-flow.ts's flowScratchOf and its flow ids). */
const FLOW_KEY = /^scratch\/flows\/([0-9a-f]+)\/([a-z0-9]+)\//;

export interface FlowScratchSweepDeps {
  storage: MediaStorage;
  /** The transcode queue: whose jobs the flows are. */
  queue: Queue;
  /** A flow's folder must have had no write for this long (STAGING_MAX_IDLE_SECONDS). */
  maxIdleMs: number;
  now?: () => number;
}

interface FlowFolder {
  jobHex: string;
  flow: string;
  bytes: number;
  newest: number;
}

export async function sweepFlowScratch(deps: FlowScratchSweepDeps): Promise<Reclaimed> {
  const now = (deps.now ?? Date.now)();
  const folders = new Map<string, FlowFolder>();
  for await (const object of deps.storage.list(FLOWS_PREFIX)) {
    const match = FLOW_KEY.exec(object.key);
    if (!match) continue; // not a flow's file: another version's layout is left alone
    const [, jobHex, flow] = match as unknown as [string, string, string];
    const folder = folders.get(`${jobHex}/${flow}`) ?? { jobHex, flow, bytes: 0, newest: 0 };
    folder.bytes += object.size;
    folder.newest = Math.max(folder.newest, object.lastModified);
    folders.set(`${jobHex}/${flow}`, folder);
  }
  const reclaimed: Reclaimed = { items: 0, bytes: 0 };
  const liveFlowOf = new Map<string, Promise<string | null>>();
  for (const folder of folders.values()) {
    if (now - folder.newest <= deps.maxIdleMs) continue;
    let live = liveFlowOf.get(folder.jobHex);
    if (!live) {
      live = liveFlow(deps.queue, Buffer.from(folder.jobHex, "hex").toString("utf8"));
      liveFlowOf.set(folder.jobHex, live);
    }
    if ((await live) === folder.flow) continue;
    await deps.storage.deletePrefix(`${FLOWS_PREFIX}${folder.jobHex}/${folder.flow}`);
    reclaimed.items++;
    reclaimed.bytes += folder.bytes;
  }
  return reclaimed;
}

/** The flow a job still collects: none once it is gone or completed (its ready report dropped it). */
async function liveFlow(queue: Queue, jobId: string): Promise<string | null> {
  const job = await Job.fromId(queue, jobId);
  if (!job || (await job.isCompleted())) return null;
  return flowOf(job);
}
