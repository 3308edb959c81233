// Progressive MP4s through the nginx edge (infra/nginx) in front of a real api: a signed mp4_url from the
// catalogue is sent by nginx itself (secure_link, sendfile, byte ranges), exactly the file's bytes; a
// forged or missing token, or a rung that falls back to a lower one, goes to the api, which answers as
// without the edge. A real transcoded tree (3 s 640×360, rungs 180p and 360p with their MP4s).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunningEdge } from "../../infra/nginx/edge.ts";
import { ADMIN_ENV, adminClient, createVideo, getVideo } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import { publishRealTree, smallSource, startTestEdge, stopRealTree } from "../support/real-tree.ts";
import { type Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";
import { TestTranscoder } from "../support/transcoder.ts";

const PUBLIC_URL = "http://videoflix.test";
const MEDIA_TOKEN_SECRET = "edge-mp4-test-media-secret-0123456789abcdef";

let api: TestApi;
let edge: RunningEdge;
let viewer: Client;
let workDir: string;
let transcoder: TestTranscoder;
let videoId: number;
let tree: string;
/** The rungs' signed URLs as the catalogue lists them, by rung. */
const mp4Urls = new Map<string, string>();

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "vf-edge-mp4-"));
  const sourcePath = await smallSource(workDir);
  api = await startTestApi({ ...ADMIN_ENV, PUBLIC_URL, MEDIA_TOKEN_SECRET });
  const admin = await adminClient(api);
  viewer = await loggedInClient(api);
  transcoder = new TestTranscoder(api);
  videoId = (await createVideo(api, admin, { title: "Edge MP4" })).id;
  ({ tree } = await publishRealTree(api, transcoder, videoId, sourcePath, {
    stagingName: "edge-mp4-test",
    ladderHeights: [180, 360],
    thumbnails: false,
  }));
  await eventually("video ready", async () => (await getVideo(admin, videoId)).processing_state === "ready");
  edge = await startTestEdge(api, MEDIA_TOKEN_SECRET, []);
  const item = (await (await viewer.get(`/api/videos/${videoId}`)).json()) as {
    renditions: Array<{ name: string; mp4_url: string }>;
  };
  for (const rendition of item.renditions) mp4Urls.set(rendition.name, rendition.mp4_url);
}, 120_000);

afterAll(() => stopRealTree({ edge, transcoder, api, workDir }));

/** A URL on PUBLIC_URL (what the api writes) asked of the edge, as a <video> element would. */
const viaEdge = (url: string, headers: Record<string, string> = {}) =>
  fetch(`${edge.url}${url.slice(PUBLIC_URL.length)}`, { headers, redirect: "manual" });

const fileBytes = (rung: string) => Bun.file(join(tree, rung, "progressive.mp4")).bytes();

describe("the edge serves the MP4s itself", () => {
  test("whole: the file's bytes, its type and length, from nginx", async () => {
    const response = await viaEdge(mp4Urls.get("360p")!);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-served-by")).toBe("edge");
    expect(response.headers.get("content-type")).toBe("video/mp4");
    expect(response.headers.get("accept-ranges")).toBe("bytes");
    expect(response.headers.get("content-disposition")).toBeNull();
    const bytes = await fileBytes("360p");
    expect(Number(response.headers.get("content-length"))).toBe(bytes.byteLength);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes);
  });

  test("ranges: 206 with exactly the bytes asked for; past the end 416", async () => {
    const bytes = await fileBytes("180p");
    const size = bytes.byteLength;
    for (const [header, start, end] of [
      ["bytes=0-1023", 0, 1023],
      ["bytes=5000-", 5000, size - 1],
      ["bytes=-777", size - 777, size - 1],
    ] as const) {
      const response = await viaEdge(mp4Urls.get("180p")!, { range: header });
      expect(response.status).toBe(206);
      expect(response.headers.get("x-served-by")).toBe("edge");
      expect(response.headers.get("content-range")).toBe(`bytes ${start}-${end}/${size}`);
      expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes.slice(start, end + 1));
    }
    const beyond = await viaEdge(mp4Urls.get("180p")!, { range: `bytes=${size + 1}-` });
    expect(beyond.status).toBe(416);
    await beyond.arrayBuffer();
  });

  test("download=1: an attachment named as the api names it", async () => {
    const response = await viaEdge(`${mp4Urls.get("180p")!}&download=1`, { range: "bytes=0-9" });
    expect(response.status).toBe(206);
    expect(response.headers.get("x-served-by")).toBe("edge");
    expect(response.headers.get("content-disposition")).toBe(
      `attachment; filename="video-${videoId}-180p.mp4"`,
    );
    await response.arrayBuffer();
  });
});

describe("what the edge cannot answer goes to the api", () => {
  test("a forged token: 403 from the api; no token: 401", async () => {
    const url = new URL(mp4Urls.get("360p")!);
    const token = url.searchParams.get("token")!;
    const dot = token.indexOf(".");
    url.searchParams.set(
      "token",
      `${token.slice(0, dot + 1)}${token[dot + 1] === "A" ? "B" : "A"}${token.slice(dot + 2)}`,
    );
    const forged = await viaEdge(url.toString());
    expect(forged.status).toBe(403);
    expect(forged.headers.get("x-served-by")).toBeNull();
    expect(await forged.json()).toEqual({ detail: "The media token is invalid for this video." });
    url.searchParams.delete("token");
    const anonymous = await viaEdge(url.toString());
    expect(anonymous.status).toBe(401);
  });

  test("a rung the video lacks: the api answers with the nearest lower one, ranges included", async () => {
    const bytes = await fileBytes("360p");
    const response = await viaEdge(mp4Urls.get("360p")!.replace("/360p/", "/720p/"), {
      range: "bytes=100-199",
    });
    expect(response.status).toBe(206);
    expect(response.headers.get("x-served-by")).toBeNull();
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes.slice(100, 200));
  });
});
