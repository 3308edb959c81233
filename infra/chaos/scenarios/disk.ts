// The media volume fills up: during an upload (the api must answer 507 and keep nothing) and during a
// transcode (the job must say the storage is full, not fail three times on a broken playlist).
import { waitUntil } from "../../../dev/probes.ts";
import { seconds } from "../context.ts";
import { isAlive } from "../processes.ts";
import type { Scenario } from "../scenario.ts";

const FULL = /storage is full/i;

export const diskFullDuringUpload: Scenario = {
  name: "disk-upload",
  fault: "fill the media volume during an upload",
  async run(ctx) {
    const bytes = await Bun.file(ctx.source).bytes();
    const quarter = Math.floor(bytes.byteLength / 4);
    // A quarter of the file on disk, then the volume fills, then the rest arrives.
    const upload = ctx.session.startUpload("onto a filling disk");
    upload.send(bytes.subarray(0, quarter));
    await ctx.untilUploadStaged();
    ctx.volume.fill(0);
    ctx.mark("media volume filled mid-upload");
    upload.send(bytes.subarray(quarter));
    upload.finish();
    const response = await Promise.race([upload.answer, Bun.sleep(30_000).then(() => null)]);
    const body = (await response?.text()) ?? "";
    if (response?.status !== 507)
      ctx.violated(
        `upload onto a full volume answered ${response?.status ?? "nothing"}: ${body.slice(0, 200)}`,
      );
    else if (!FULL.test(body)) ctx.violated(`507 without saying the storage is full: ${body.slice(0, 200)}`);
    upload.abort();
    ctx.volume.release();
    ctx.mark("media volume space given back");
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
    ctx.mark("media volume filled mid-encode");
    ctx.thaw(pid);
    // The job meets the full volume. Its attempt must end (in error, or handed back to wait for space)
    // saying so, not as a broken playlist after every attempt.
    await waitUntil(
      "the attempt on the full volume to end",
      async () =>
        !isAlive(pid) &&
        ((await ctx.stores.videos()).find((video) => video.id === id)?.state === "error" ||
          !("active" in (await ctx.stores.unfinishedJobs()))),
      { timeoutMs: 20_000, intervalMs: 200 },
    ).catch(() => ctx.violated("the attempt on the full volume did not end within 20 s"));
    const during = (await ctx.stores.videos()).find((video) => video.id === id);
    if (during?.state === "error" && !FULL.test(during.error ?? ""))
      ctx.violated(`a full volume reported as: "${(during.error ?? "").slice(0, 160)}"`);
    ctx.volume.release();
    ctx.mark("media volume space given back");
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
