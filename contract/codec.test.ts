import { describe, expect, test } from "bun:test";
import { progressChannel, type TranscodeProgress } from "./progress.ts";
import { transcodeReports } from "./transcode-reports.ts";
import { videoChanges } from "./video-changes.ts";

const tick: TranscodeProgress = {
  videoId: 7,
  revision: 2,
  stage: "encoding",
  percent: 41.5,
  etaSeconds: 12,
  at: 1_764_000_000_000,
};

describe("channel codecs", () => {
  test("what encode writes, decode reads back unchanged", () => {
    const text = progressChannel.encode(tick);
    expect(progressChannel.decode(text)).toEqual({ ok: true, value: tick });
    const change = { type: "video.created", id: 3, revision: 1 } as const;
    expect(videoChanges.decode(videoChanges.encode(change))).toEqual({ ok: true, value: change });
  });

  test("not JSON, and JSON of the wrong shape, are refused with a reason that names the field", () => {
    expect(progressChannel.decode("{nope")).toEqual({ ok: false, reason: "not JSON" });
    const badStage = progressChannel.decode(JSON.stringify({ ...tick, stage: "dancing" }));
    expect(badStage.ok).toBe(false);
    expect(!badStage.ok && badStage.reason).toContain("/stage");
    const noId = videoChanges.decode(JSON.stringify({ type: "video.deleted" }));
    expect(noId.ok).toBe(false);
    const unknownType = videoChanges.decode(JSON.stringify({ type: "video.exploded", id: 1 }));
    expect(unknownType.ok).toBe(false);
  });

  test("fields the schema does not name are tolerated (a newer sender may add some)", () => {
    expect(progressChannel.decode(JSON.stringify({ ...tick, padding: "x" })).ok).toBe(true);
  });

  test("a ready report must carry a whole result; a half one is refused before it is used", () => {
    const at = new Date().toISOString();
    const ready = {
      type: "ready",
      videoId: 1,
      revision: 1,
      at,
      result: {
        durationSeconds: 8,
        renditions: [],
        masterPlaylist: "master.m3u8",
        posters: [],
        storyboard: null,
      },
    };
    expect(transcodeReports.check(ready).ok).toBe(true);
    const { masterPlaylist: _, ...half } = ready.result;
    const refused = transcodeReports.check({ ...ready, result: half });
    expect(refused.ok).toBe(false);
  });
});
