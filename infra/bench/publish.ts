import type { ApiRuntime } from "../../api/runtime.ts";
import type { TranscodeResult } from "../../contract/media.ts";

/**
 * Publishes a bench video's revision 1 the way a transcoder's `ready` report does, through the video
 * lifecycle (the only writer of processing_state), so benches measure the product's own published state.
 */
export async function publishReady(
  runtime: ApiRuntime,
  videoId: number,
  result: TranscodeResult,
): Promise<void> {
  const report = { type: "ready", videoId, revision: 1, result, at: new Date().toISOString() } as const;
  if (!(await runtime.services.lifecycle.applyReport(report))) {
    throw new Error(`video ${videoId} was not publishable (not pending or processing at revision 1)`);
  }
}
