// HLS playback against a REAL transcoded tree: a 3 s 640×360 source through transcoder/pipeline.ts
// (ultrafast, 1 s segments → rungs 180p and 360p), published with MediaStorage.publishDirectory and
// reported ready through the transcoder's own TranscodeReporter. Playlists, segments and thumbnails are then
// fetched as a signed-in browser, as a cookie-less player with the signed token the api wrote into the
// playlists, and as an attacker.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { outputPrefixFor, type TranscodeResult } from "../../contract/media.ts";
import { videos } from "../../db/schema/index.ts";
import { ADMIN_ENV, adminClient, createVideo, getVideo, replaceFile } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import { fabricatedResult, publishTree, tinyMp4Bytes } from "../support/fixtures.ts";
import { publishRealTree, smallSource, stopRealTree } from "../support/real-tree.ts";
import { type Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";
import { TestTranscoder } from "../support/transcoder.ts";

const ORIGIN = "http://frontend.test";

let api: TestApi;
let viewer: Client;
let admin: Client;
let workDir: string;
let result: TranscodeResult;
let transcoder: TestTranscoder;
/** The real video, a second one with a fabricated tree, and one that is still pending. */
let real: number;
let other: number;
let pending: number;
let realTree: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "vf-playback-"));
  const sourcePath = await smallSource(workDir);
  [api] = await Promise.all([startTestApi(ADMIN_ENV)]);
  admin = await adminClient(api);
  viewer = await loggedInClient(api);
  transcoder = new TestTranscoder(api);

  real = (await createVideo(api, admin, { title: "Real" })).id;
  other = (await createVideo(api, admin, { title: "Other" })).id;
  pending = (await createVideo(api, admin, { title: "Pending" })).id;

  ({ result, tree: realTree } = await publishRealTree(api, transcoder, real, sourcePath, {
    stagingName: "playback-test",
    ladderHeights: [180, 360, 720],
  }));

  const fakeStaging = await api.runtime.storage.createStagingDir("playback-test-fake");
  publishTree(fakeStaging, 0, 0);
  await transcoder.publishReady(other, join(fakeStaging, outputPrefixFor(0, 0)), fabricatedResult());

  await eventually(
    "both videos ready",
    async () =>
      (await getVideo(admin, real)).processing_state === "ready" &&
      (await getVideo(admin, other)).processing_state === "ready",
    15_000,
  );
}, 90_000);

afterAll(() => stopRealTree({ transcoder, api, workDir }));

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${api.url}${path}`, { headers, redirect: "manual" });

/** A request line sent byte for byte (fetch would normalise `..` and `%2e%2e` away before sending). */
function rawGet(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(api.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      const lines = [`GET ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, "Connection: close"];
      for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
    });
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    });
  });
}

const cookieHeader = () => ({
  cookie: [...viewer.cookies].map(([name, value]) => `${name}=${value}`).join("; "),
});

/** The URIs of a playlist (its non-comment lines). */
const urisOf = (playlist: string) =>
  playlist
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"));

async function servedMaster(id = real): Promise<string> {
  const response = await get(`/api/video/${id}/master.m3u8`, cookieHeader());
  expect(response.status).toBe(200);
  return response.text();
}

/** The token the api wrote into the master playlist. */
async function tokenOf(id = real): Promise<string> {
  const uri = urisOf(await servedMaster(id))[0]!;
  return new URL(uri, "http://x/").searchParams.get("token")!;
}

/** Changes the tag's first character, all six of whose bits are data. */
function tamper(token: string): string {
  const dot = token.indexOf(".");
  return `${token.slice(0, dot + 1)}${token[dot + 1] === "A" ? "B" : "A"}${token.slice(dot + 2)}`;
}

describe("the transcoded tree", () => {
  test("has the rungs the tests rely on", () => {
    expect(result.renditions.map((r) => r.name)).toEqual(["180p", "360p"]);
  });
});

describe("with the session cookie", () => {
  test("the master playlist lists every rung, each URI signed and versioned", async () => {
    const response = await get(`/api/video/${real}/master.m3u8`, cookieHeader());
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/vnd.apple.mpegurl");
    expect(response.headers.get("cache-control")).toBe("private, max-age=10");
    const text = await response.text();
    expect(text.startsWith("#EXTM3U")).toBe(true);
    const uris = urisOf(text);
    expect(uris.map((uri) => uri.split("?")[0])).toEqual(["180p/index.m3u8", "360p/index.m3u8"]);
    for (const uri of uris) {
      const params = new URL(uri, "http://x/").searchParams;
      expect(params.get("v")).toBe("1");
      expect(params.get("token")).toMatch(/^\d+\.[A-Za-z0-9_-]{22}$/);
    }
  });

  test("media playlists carry the token on every segment, and segments are served as MPEG-TS", async () => {
    const response = await get(`/api/video/${real}/360p/index.m3u8`, cookieHeader());
    expect(response.status).toBe(200);
    const segments = urisOf(await response.text());
    expect(segments.length).toBe(3);
    for (const uri of segments) expect(uri).toMatch(/^seg_\d{5}\.ts\?v=1&token=\d+\.[A-Za-z0-9_-]{22}$/);

    const segment = await get(`/api/video/${real}/360p/seg_00000.ts`, cookieHeader());
    expect(segment.status).toBe(200);
    expect(segment.headers.get("content-type")).toBe("video/mp2t");
    expect(segment.headers.get("accept-ranges")).toBe("bytes");
    const bytes = new Uint8Array(await segment.arrayBuffer());
    expect(bytes).toEqual(new Uint8Array(readFileSync(join(realTree, "360p/seg_00000.ts"))));
    expect(bytes[0]).toBe(0x47); // the MPEG-TS sync byte
    expect(segment.headers.get("cache-control")).toBe("private, max-age=300");

    const versioned = await get(`/api/video/${real}/360p/seg_00000.ts?v=1`, cookieHeader());
    expect(versioned.headers.get("cache-control")).toBe("private, max-age=31536000, immutable");
  });

  test("segments answer with and without a trailing slash (the Videoflix form)", async () => {
    const slash = await get(`/api/video/${real}/180p/seg_00001.ts/`, cookieHeader());
    expect(slash.status).toBe(200);
    expect((await slash.arrayBuffer()).byteLength).toBe(
      readFileSync(join(realTree, "180p/seg_00001.ts")).byteLength,
    );
    expect((await get(`/api/video/${real}/180p/index.m3u8/`, cookieHeader())).status).toBe(200);
  });

  test("CORS with credentials applies to the allowed origin", async () => {
    const response = await get(`/api/video/${real}/360p/seg_00000.ts`, { ...cookieHeader(), origin: ORIGIN });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(response.headers.get("access-control-allow-credentials")).toBe("true");
    const foreign = await get(`/api/video/${real}/360p/seg_00000.ts`, {
      ...cookieHeader(),
      origin: "http://evil.test",
    });
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("with the signed token only (a player without cookies)", () => {
  test("follows master → media playlist → segment with the URIs exactly as served", async () => {
    const masterUrl = `${api.url}/api/video/${real}/master.m3u8`;
    const master = await get(`/api/video/${real}/master.m3u8`, cookieHeader());
    const variant = new URL(urisOf(await master.text())[1]!, masterUrl);
    const media = await fetch(variant);
    expect(media.status).toBe(200);
    expect(media.headers.get("cache-control")).toBe("public, max-age=10");
    const segmentUrl = new URL(urisOf(await media.text())[2]!, variant);
    expect(segmentUrl.searchParams.get("token")).toBe(variant.searchParams.get("token"));
    const segment = await fetch(segmentUrl);
    expect(segment.status).toBe(200);
    expect(segment.headers.get("content-type")).toBe("video/mp2t");
    expect(segment.headers.get("cache-control")).toMatch(
      /^public, max-age=31536000, s-maxage=\d+, immutable$/,
    );
    const sMaxAge = Number(/s-maxage=(\d+)/.exec(segment.headers.get("cache-control")!)![1]);
    expect(sMaxAge).toBeGreaterThan(6 * 3600 - 60);
    expect(sMaxAge).toBeLessThanOrEqual(6 * 3600 + 300);
    expect((await segment.arrayBuffer()).byteLength).toBe(
      readFileSync(join(realTree, "360p/seg_00002.ts")).byteLength,
    );
  });

  test("the master playlist itself opens with the token", async () => {
    const token = await tokenOf();
    const response = await get(`/api/video/${real}/master.m3u8?token=${token}`);
    expect(response.status).toBe(200);
    // A token-authenticated playlist passes the same token on: a token never renews itself.
    for (const uri of urisOf(await response.text())) expect(uri).toContain(`token=${token}`);
  });
});

describe("refused access", () => {
  test("without cookie or token: 401 JSON on playlists and segments", async () => {
    for (const path of [
      `/api/video/${real}/master.m3u8`,
      `/api/video/${real}/360p/index.m3u8`,
      `/api/video/${real}/360p/seg_00000.ts`,
      `/api/video/${real}/360p/seg_00000.ts/`,
    ]) {
      const response = await get(path);
      expect(response.status, path).toBe(401);
      expect(response.headers.get("content-type")).toContain("application/json");
      expect(await response.json()).toEqual({ detail: expect.any(String) });
    }
  });

  test("a forged session cookie is a 401", async () => {
    const response = await get(`/api/video/${real}/360p/seg_00000.ts`, {
      cookie: "access_token=abc.def.ghi",
    });
    expect(response.status).toBe(401);
  });

  test("a dialect's access token (djoser's) in the cookie is a 401, every time, and its header is never indexed", async () => {
    const accessTokens = api.runtime.services.accessTokens;
    const me = (await (await viewer.get("/api/me/")).json()) as { id: number; email: string };
    const djoser = await accessTokens.sign({
      id: me.id,
      email: me.email,
      isAdmin: false,
      sessionId: crypto.randomUUID(),
      userEpoch: 0,
      dialect: "djoser",
    });
    const before = accessTokens.cookieHeadersIndexed;
    // The first request verifies it (a miss), the next ones meet it in the verified cache.
    for (let i = 0; i < 3; i++) {
      const response = await get(`/api/video/${real}/360p/seg_00000.ts`, {
        cookie: `access_token=${djoser}`,
      });
      expect(response.status).toBe(401);
    }
    expect(accessTokens.cached(djoser)).toMatchObject({ dialect: "djoser" });
    expect(accessTokens.cookieHeadersIndexed).toBe(before);
  });

  test("a tampered token: 403 JSON", async () => {
    const token = await tokenOf();
    const [expiry] = token.split(".");
    for (const bad of [
      tamper(token),
      `${Number(expiry) + 3600}.${token.split(".")[1]}`, // a later expiry with the old signature
      "garbage",
      `${token}x`,
    ]) {
      const response = await get(`/api/video/${real}/360p/seg_00000.ts?token=${encodeURIComponent(bad)}`);
      expect(response.status, bad).toBe(403);
      expect(await response.json()).toEqual({ detail: expect.any(String) });
    }
  });

  test("another video's files with this video's token: 403", async () => {
    const token = await tokenOf(real);
    const response = await get(`/api/video/${other}/180p/seg_00000.ts?token=${token}`);
    expect(response.status).toBe(403);
    const playlist = await get(`/api/video/${other}/master.m3u8?token=${token}`);
    expect(playlist.status).toBe(403);
  });

  test("an expired token: 403 (and the cookie still works)", async () => {
    const token = await tokenOf();
    const [expiry] = token.split(".");
    const secondsLeft = Number(expiry) - Math.floor(Date.now() / 1000);
    api.shiftClock(secondsLeft + 1);
    try {
      const response = await get(`/api/video/${real}/360p/seg_00000.ts?token=${token}`);
      expect(response.status).toBe(403);
      expect((await response.json()).detail).toMatch(/expired/);
    } finally {
      api.shiftClock(-(secondsLeft + 1));
    }
    expect((await get(`/api/video/${real}/360p/seg_00000.ts?token=${token}`)).status).toBe(200);
  });

  test("a video without a published revision is a 404, with credentials", async () => {
    expect((await get(`/api/video/${pending}/master.m3u8`, cookieHeader())).status).toBe(404);
    expect((await get(`/api/video/${pending}/360p/index.m3u8`, cookieHeader())).status).toBe(404);
    expect((await get(`/api/video/999999/master.m3u8`, cookieHeader())).status).toBe(404);
  });

  test("an old revision's versioned URL is a 404", async () => {
    const response = await get(`/api/video/${real}/360p/seg_00000.ts?v=7`, cookieHeader());
    expect(response.status).toBe(404);
  });
});

describe("traversal and odd names", () => {
  test("never leave the published tree", async () => {
    const [row] = await api.database.db
      .select({ sourceKey: videos.sourceKey })
      .from(videos)
      .where(eq(videos.id, real));
    const sourceKey = row!.sourceKey;
    const token = await tokenOf();
    const attempts = [
      `/api/video/${real}/../../${sourceKey}`,
      `/api/video/${real}/360p/../../../../${sourceKey}`,
      `/api/video/${real}/%2e%2e/%2e%2e/%2e%2e/${sourceKey}`,
      `/api/video/${real}/360p/%2e%2e%2f%2e%2e%2f%2e%2e%2f${sourceKey.replaceAll("/", "%2f")}`,
      `/api/video/${real}/360p/..%2F..%2F..%2F..%2F${sourceKey.replaceAll("/", "%2F")}`,
      `/api/video/${real}/360p/%2Fetc%2Fpasswd`,
      `/api/video/${real}/360p//etc/passwd`,
      `/api/video/${real}/thumbnails/..%2F360p%2Fseg_00000.ts`,
      `/api/video/${real}/..%2F..%2F${other}%2Fr1/index.m3u8`,
      `/api/video/${real}/360p/.hidden.ts`,
      `/api/video/${real}/360p/-seg.ts`,
      `/api/video/${real}/360p/_seg.ts`,
      `/api/video/${real}/360p/seg_00000.TS`,
      `/api/video/${real}/360p/seg_00000.exe`,
      `/api/video/${real}/sources/seg_00000.ts`,
      `/api/video/${real}/36p/index.m3u8`,
      `/api/video/${real}/thumbnails/seg_00000.ts`,
      `/api/video/${real}/360p/poster-640.jpg`,
      `/api/video/-1/360p/index.m3u8`,
      `/api/video/01/360p/index.m3u8`,
      `/api/video/${real}/master.m3u8%00.ts`,
    ];
    for (const path of attempts) {
      for (const auth of [cookieHeader(), {}]) {
        const url = `${path}${path.includes("?") ? "&" : "?"}token=${token}`;
        const response = await rawGet(url, auth);
        expect([400, 404], `${response.status} for ${path}`).toContain(response.status);
        expect(response.text).not.toContain("\x47\x40"); // no MPEG-TS packet came back
      }
    }
  });

  test("another video's segment through this video's URL is impossible: keys stay in the prefix", async () => {
    const response = await rawGet(
      `/api/video/${real}/180p/..%2F..%2F..%2F${other}%2Fr1%2F180p%2Fseg_00000.ts`,
      cookieHeader(),
    );
    expect(response.status).toBe(404);
  });
});

describe("rung fallback", () => {
  test("a missing rung is served by the nearest lower one", async () => {
    const expected = readFileSync(join(realTree, "360p/index.m3u8"), "utf8");
    for (const res of ["720p", "1080p", "480p"]) {
      const response = await get(`/api/video/${real}/${res}/index.m3u8`, cookieHeader());
      expect(response.status, res).toBe(200);
      const uris = urisOf(await response.text()).map((uri) => uri.split("?")[0]);
      expect(uris).toEqual(urisOf(expected));
    }
    const fallbackSegment = await get(`/api/video/${real}/1080p/seg_00001.ts`, cookieHeader());
    expect(new Uint8Array(await fallbackSegment.arrayBuffer())).toEqual(
      new Uint8Array(readFileSync(join(realTree, "360p/seg_00001.ts"))),
    );
    const between = await get(`/api/video/${real}/240p/seg_00001.ts`, cookieHeader());
    expect(new Uint8Array(await between.arrayBuffer())).toEqual(
      new Uint8Array(readFileSync(join(realTree, "180p/seg_00001.ts"))),
    );
  });

  test("below the lowest rung, the lowest one", async () => {
    const response = await get(`/api/video/${real}/144p/seg_00000.ts`, cookieHeader());
    expect(response.status).toBe(200);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(
      new Uint8Array(readFileSync(join(realTree, "180p/seg_00000.ts"))),
    );
  });
});

describe("byte ranges", () => {
  const path = () => `/api/video/${real}/360p/seg_00000.ts`;
  const file = () => new Uint8Array(readFileSync(join(realTree, "360p/seg_00000.ts")));

  test("bytes=0-99 → 206 with Content-Range", async () => {
    const response = await get(path(), { ...cookieHeader(), range: "bytes=0-99" });
    expect(response.status).toBe(206);
    expect(response.headers.get("content-range")).toBe(`bytes 0-99/${file().length}`);
    expect(response.headers.get("content-length")).toBe("100");
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(file().subarray(0, 100));
  });

  test("a suffix range and an open-ended range", async () => {
    const size = file().length;
    const suffix = await get(path(), { ...cookieHeader(), range: "bytes=-188" });
    expect(suffix.status).toBe(206);
    expect(suffix.headers.get("content-range")).toBe(`bytes ${size - 188}-${size - 1}/${size}`);
    expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(file().subarray(size - 188));
    const open = await get(path(), { ...cookieHeader(), range: `bytes=${size - 10}-` });
    expect(open.status).toBe(206);
    expect((await open.arrayBuffer()).byteLength).toBe(10);
    const clipped = await get(path(), { ...cookieHeader(), range: `bytes=${size - 5}-${size + 1000}` });
    expect(clipped.headers.get("content-range")).toBe(`bytes ${size - 5}-${size - 1}/${size}`);
  });

  test("out of range → 416 with the size", async () => {
    const size = file().length;
    const response = await get(path(), { ...cookieHeader(), range: `bytes=${size}-` });
    expect(response.status).toBe(416);
    expect(response.headers.get("content-range")).toBe(`bytes */${size}`);
    expect(await response.json()).toEqual({ detail: expect.any(String) });
  });

  test("a range with the token works as with the cookie", async () => {
    const token = await tokenOf();
    const response = await get(`${path()}?v=1&token=${token}`, { range: "bytes=100-199" });
    expect(response.status).toBe(206);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(file().subarray(100, 200));
  });
});

describe("validators and types", () => {
  test("ETag + If-None-Match → 304 on segments and playlists", async () => {
    const segment = await get(`/api/video/${real}/360p/seg_00000.ts`, cookieHeader());
    const etag = segment.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-z-]+"$/);
    const again = await get(`/api/video/${real}/360p/seg_00000.ts`, {
      ...cookieHeader(),
      "if-none-match": etag,
    });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe(etag);
    expect(await again.text()).toBe("");
    const otherSegment = await get(`/api/video/${real}/360p/seg_00001.ts`, {
      ...cookieHeader(),
      "if-none-match": etag,
    });
    expect(otherSegment.status).toBe(200);

    const playlist = await get(`/api/video/${real}/360p/index.m3u8`, cookieHeader());
    const playlistTag = playlist.headers.get("etag")!;
    expect(playlistTag).toBeTruthy();
    const cached = await get(`/api/video/${real}/360p/index.m3u8`, {
      ...cookieHeader(),
      "if-none-match": `W/${playlistTag}`,
    });
    expect(cached.status).toBe(304);
  });

  test("thumbnails and storyboard: public, typed, cacheable", async () => {
    const cases: Array<[string, string]> = [
      ["poster-640.jpg", "image/jpeg"],
      ["poster-320.webp", "image/webp"],
      ["storyboard.vtt", "text/vtt; charset=utf-8"],
      ["storyboard-0.jpg", "image/jpeg"],
    ];
    for (const [name, type] of cases) {
      const response = await get(`/api/video/${real}/thumbnails/${name}`);
      expect(response.status, name).toBe(200);
      expect(response.headers.get("content-type")).toBe(type);
      expect(response.headers.get("cache-control")).toBe("public, max-age=300");
      expect((await response.arrayBuffer()).byteLength).toBe(
        readFileSync(join(realTree, "thumbnails", name)).byteLength,
      );
    }
    const slash = await get(`/api/video/${real}/thumbnails/poster-640.jpg/?v=1`);
    expect(slash.status).toBe(200);
    expect(slash.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect((await get(`/api/video/${pending}/thumbnails/poster-640.jpg`)).status).toBe(404);
  });

  test("the catalogue's thumbnail_url resolves", async () => {
    const video = await getVideo(await adminClient(api), real);
    const url = new URL(video.thumbnail_url!);
    expect((await get(url.pathname)).status).toBe(200);
  });
});

describe("HEAD and revisions", () => {
  test("HEAD answers the headers of a GET without a body", async () => {
    const response = await fetch(`${api.url}/api/video/${real}/360p/seg_00000.ts`, {
      method: "HEAD",
      headers: cookieHeader(),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("video/mp2t");
    expect(response.headers.get("content-length")).toBe(
      String(readFileSync(join(realTree, "360p/seg_00000.ts")).byteLength),
    );
    expect(await response.text()).toBe("");
  });

  test("a newly published revision is served at once; the old revision's URLs are gone", async () => {
    const before = urisOf(await servedMaster(other)); // primes the playback cache with revision 1
    expect(before[0]).toContain("v=1&");
    expect((await replaceFile(api, admin, other, await tinyMp4Bytes())).status).toBe(202);
    const staging = await api.runtime.storage.createStagingDir("playback-test-r2");
    const outcome = { ...fabricatedResult(), renditions: [fabricatedResult().renditions[1]!] };
    const tree = publishTree(staging, 0, 0, outcome);
    writeFileSync(
      join(tree, "master.m3u8"),
      "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=260000,RESOLUTION=256x144\n144p/index.m3u8\n",
    );
    await transcoder.publishReady(other, join(staging, outputPrefixFor(0, 0)), outcome, 2);
    await eventually(
      "revision 2 ready",
      async () => (await getVideo(admin, other)).processing_state === "ready",
    );
    // The state change on vf:video-state drops the cached tree before its 5 s lifetime is over.
    const started = Date.now();
    const after = await eventually(
      "the master playlist of revision 2",
      async () => {
        const uris = urisOf(await servedMaster(other));
        return uris[0]?.includes("v=2&") ? uris : null;
      },
      4000,
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(after.map((uri) => uri.split("?")[0])).toEqual(["144p/index.m3u8"]);
    expect((await get(`/api/video/${other}/180p/seg_00000.ts?v=1`, cookieHeader())).status).toBe(404);
    // 180p is gone: the nearest rung of revision 2 answers.
    const fallback = await get(`/api/video/${other}/180p/seg_00000.ts?v=2`, cookieHeader());
    expect(fallback.status).toBe(200);
    expect(await fallback.text()).toBe("fake 144p/seg_00000.ts\n");
  });
});
