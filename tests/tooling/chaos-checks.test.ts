// The chaos suite's judgements (infra/chaos/): what counts as an acceptable answer during an outage, a
// readable error, a leftover on the media volume and a ready video that cannot be played. The suite
// itself runs with `bun run chaos`; these hold its rules to what the hardening issue asks.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { leftovers, missingMedia, unreadableError, type VideoRow } from "../../infra/chaos/invariants.ts";
import { outageViolation, type ProbeAnswer } from "../../infra/chaos/outage-probes.ts";

const answer = (fields: Partial<ProbeAnswer>): ProbeAnswer => ({
  request: "GET /api/video/",
  status: 503,
  ms: 40,
  retryAfter: "1",
  json: true,
  ...fields,
});

describe("answers during an outage", () => {
  test("503 JSON with Retry-After within a second, or served, is what the issue asks", () => {
    expect(outageViolation(answer({}))).toBeNull();
    expect(outageViolation(answer({ status: 200, retryAfter: null }))).toBeNull();
  });

  test("a 500, a slow answer, no answer, or a 503 without JSON or Retry-After are not", () => {
    expect(outageViolation(answer({ status: 500 }))).toBe("GET /api/video/: 500 in 40 ms");
    expect(outageViolation(answer({ ms: 5984 }))).toBe("GET /api/video/: 503 after 5984 ms");
    expect(outageViolation(answer({ status: null, ms: 8000 }))).toBe("GET /api/video/: no answer (8000 ms)");
    expect(outageViolation(answer({ json: false }))).toBe("GET /api/video/: 503 without a JSON body");
    expect(outageViolation(answer({ retryAfter: null }))).toBe("GET /api/video/: 503 without Retry-After");
  });
});

describe("readable errors", () => {
  test("a sentence of ours passes; FFmpeg's stderr, an errno or nothing does not", () => {
    expect(unreadableError("The media storage is full.")).toBeNull();
    expect(unreadableError(null)).toBe("no message");
    expect(
      unreadableError("Transcoding failed after 1 attempt: FFmpeg exited with code 1: [hls @ 0x5] Failed"),
    ).toStartWith("not readable");
    expect(unreadableError("ENOSPC: no space left on device, write")).toStartWith("not readable");
  });
});

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

const write = (path: string, text = "x") => {
  mkdirSync(dirname(join(root!, path)), { recursive: true });
  writeFileSync(join(root!, path), text);
};
const video = (fields: Partial<VideoRow>): VideoRow => ({
  id: 1,
  state: "ready",
  error: null,
  sourceKey: "sources/a.mp4",
  publishedRevision: 1,
  ...fields,
});

describe("the media volume after a fault", () => {
  test("a video's source and published tree are not leftovers; staging, orphans and old trees are", () => {
    const dir = mkdtempSync(join(tmpdir(), "vf-chaos-checks-"));
    root = dir;
    write("sources/a.mp4");
    write("videos/1/r1/master.m3u8");
    expect(leftovers(dir, [video({})])).toEqual([]);

    write(".staging/upload--1234/object");
    write("sources/orphan.mp4");
    write("videos/1/r0/master.m3u8");
    write("videos/2/r1/master.m3u8");
    expect(leftovers(dir, [video({})]).sort()).toEqual([
      ".staging/upload--1234",
      "sources/orphan.mp4",
      "videos/1/r0",
      "videos/2/r1",
    ]);
  });

  test("a ready video needs its master, every rendition playlist and every segment", () => {
    const dir = mkdtempSync(join(tmpdir(), "vf-chaos-checks-"));
    root = dir;
    const ready = video({});
    expect(missingMedia(dir, ready)).toBe("video 1 is ready without videos/1/r1/master.m3u8");
    write(
      "videos/1/r1/master.m3u8",
      "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n360p/index.m3u8\n",
    );
    expect(missingMedia(dir, ready)).toBe("video 1 is ready without 360p/index.m3u8");
    write(
      "videos/1/r1/360p/index.m3u8",
      "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg_00000.ts\n#EXTINF:2,\nseg_00001.ts\n#EXT-X-ENDLIST\n",
    );
    write("videos/1/r1/360p/seg_00000.ts");
    expect(missingMedia(dir, ready)).toBe("video 1 is ready without seg_00001.ts");
    write("videos/1/r1/360p/seg_00001.ts");
    expect(missingMedia(dir, ready)).toBeNull();
  });
});
