// Processes dying outright: a transcoder in the middle of a job, the api in the middle of an upload.
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
    ctx.mark(`${transcoder} killed mid-encode`);
    // The farm keeps its size, as a supervisor restarting the replica would.
    ctx.farm.startTranscoder();
    await ctx.untilReady(id);
    return { seconds: seconds(killedAt), span: "kill → video ready on another replica" };
  },
};

export const apiKilledMidUpload: Scenario = {
  name: "api-kill-upload",
  fault: "kill -9 the api mid-upload",
  async run(ctx) {
    const before = (await ctx.stores.videos()).length;
    const bytes = await Bun.file(ctx.source).bytes();
    // Half the file, then nothing more: the api is killed while it waits for the rest.
    const upload = ctx.session.startUpload("killed mid-upload");
    upload.send(bytes.subarray(0, Math.floor(bytes.byteLength / 2)));
    await ctx.untilUploadStaged();
    const killedAt = performance.now();
    await ctx.farm.killApi();
    ctx.mark("api killed mid-upload");
    upload.abort();
    await upload.answer;
    await ctx.farm.startApi();
    ctx.mark("api restarted and ready");
    const recovered = seconds(killedAt);
    const after = (await ctx.stores.videos()).length;
    if (after !== before) ctx.violated(`a half-sent upload became ${after - before} video(s)`);
    return { seconds: recovered, span: "kill → restarted api /ready" };
  },
};
