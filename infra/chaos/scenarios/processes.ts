// Processes dying outright: a transcoder in the middle of a job, the api in the middle of an upload.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { waitUntil } from "../../../dev/probes.ts";
import { seconds } from "../context.ts";
import type { Scenario } from "../scenario.ts";

export const transcoderKilledMidJob: Scenario = {
  name: "transcoder-kill",
  fault: "kill -9 a transcoder mid-job",
  async run(ctx) {
    const id = await ctx.uploadSource("transcoder killed mid-job");
    const { transcoder } = await ctx.freezeEncode();
    const killedAt = performance.now();
    await ctx.farm.killTranscoder(transcoder);
    // The farm keeps its size, as a supervisor restarting the replica would.
    ctx.farm.startTranscoder();
    await ctx.untilReady(id);
    return { seconds: seconds(killedAt), span: "kill → video ready on another replica" };
  },
};

/** Bytes the api wrote into upload staging so far (its `upload--*` directories). */
function uploadStagingBytes(mediaRoot: string): number {
  const staging = join(mediaRoot, ".staging");
  if (!existsSync(staging)) return 0;
  let bytes = 0;
  for (const dir of readdirSync(staging).filter((name) => name.startsWith("upload--"))) {
    for (const file of readdirSync(join(staging, dir))) bytes += statSync(join(staging, dir, file)).size;
  }
  return bytes;
}

export const apiKilledMidUpload: Scenario = {
  name: "api-kill-upload",
  fault: "kill -9 the api mid-upload",
  async run(ctx) {
    const before = (await ctx.stores.videos()).length;
    const bytes = new Uint8Array(await Bun.file(ctx.source).arrayBuffer());
    const boundary = `chaos${crypto.randomUUID().replaceAll("-", "")}`;
    const head =
      `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nkilled mid-upload\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="category"\r\n\r\nChaos\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\n` +
      "Content-Type: video/mp4\r\n\r\n";
    // Half the file, then nothing more: the api is killed while it waits for the rest.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(head));
        controller.enqueue(bytes.subarray(0, Math.floor(bytes.byteLength / 2)));
      },
    });
    const client = new AbortController();
    const answer = ctx.session.streamingUpload(boundary, body, client.signal).catch(() => null);
    await waitUntil("the upload's bytes in staging", async () => uploadStagingBytes(ctx.farm.mediaRoot) > 0, {
      timeoutMs: 15_000,
      intervalMs: 20,
    });
    const killedAt = performance.now();
    await ctx.farm.killApi();
    client.abort();
    await answer;
    await ctx.farm.startApi();
    const recovered = seconds(killedAt);
    const after = (await ctx.stores.videos()).length;
    if (after !== before) ctx.violated(`a half-sent upload became ${after - before} video(s)`);
    return { seconds: recovered, span: "kill → restarted api /ready" };
  },
};
