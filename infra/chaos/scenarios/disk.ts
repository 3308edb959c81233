// The media volume fills up: during an upload (the api must answer 507 and keep nothing) and during a
// transcode (the job must say the storage is full, not fail three times on a broken playlist).
import { waitUntil } from "../../../dev/probes.ts";
import { seconds } from "../context.ts";
import type { Scenario } from "../scenario.ts";

const FULL = /storage is full/i;

export const diskFullDuringUpload: Scenario = {
  name: "disk-upload",
  fault: "fill the media volume during an upload",
  async run(ctx) {
    const source = Bun.file(ctx.source);
    // Room for the multipart head and the sniff, not for the file.
    ctx.volume.fill(Math.floor(source.size / 4));
    const response = await ctx.session.upload(source, "onto a full disk", AbortSignal.timeout(30_000));
    const body = await response.text();
    if (response.status !== 507)
      ctx.violated(`upload onto a full volume answered ${response.status}: ${body.slice(0, 200)}`);
    else if (!FULL.test(body)) ctx.violated(`507 without saying the storage is full: ${body.slice(0, 200)}`);
    ctx.volume.release();
    const releasedAt = performance.now();
    const id = await ctx.uploadSource("once the disk had room again");
    const recovered = seconds(releasedAt);
    await ctx.untilReady(id);
    return { seconds: recovered, span: "space back → upload accepted" };
  },
};

export const diskFullDuringTranscode: Scenario = {
  name: "disk-transcode",
  fault: "fill the media volume during a transcode",
  async run(ctx) {
    const id = await ctx.uploadSource("transcoded onto a full disk");
    const { pid } = await ctx.freezeEncode();
    ctx.volume.fill(0);
    ctx.thaw(pid);
    // The job meets the full volume: it must end (or pause) saying so, not as a broken playlist.
    await waitUntil(
      "the job to give up on the full volume",
      async () => (await ctx.stores.videos()).find((video) => video.id === id)?.state === "error",
      { timeoutMs: 20_000, intervalMs: 200 },
    ).catch(() => {});
    const during = (await ctx.stores.videos()).find((video) => video.id === id);
    if (during?.state === "error" && !FULL.test(during.error ?? ""))
      ctx.violated(`a full volume reported as: "${(during.error ?? "").slice(0, 160)}"`);
    ctx.volume.release();
    const releasedAt = performance.now();
    const settled = await ctx.untilSettled(id);
    if (settled.state === "error" && !FULL.test(settled.error ?? ""))
      ctx.violated(
        `ended in error without saying the storage was full: "${(settled.error ?? "").slice(0, 160)}"`,
      );
    // Back when the farm transcodes again.
    const next = await ctx.uploadSource("after the full volume");
    await ctx.untilReady(next);
    return { seconds: seconds(releasedAt), span: "space back → next video ready" };
  },
};
