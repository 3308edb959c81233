// The nginx edge (infra/nginx) in front of a real api: segments with a valid signed token are sent by
// nginx itself (checked by its native secure_link with the api's secret), everything else reaches the
// api and is answered exactly as without the edge. A real transcoded tree (3 s 640×360, 1 s segments,
// rungs 180p and 360p) published and reported ready like a transcoder does.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { MediaTokens } from "../../api/playback/tokens.ts";
import { freePort } from "../../dev/services.ts";
import { type RunningEdge, startEdge } from "../../infra/nginx/edge.ts";
import { buildStudio, type StudioBuild } from "../../studio/build.ts";
import { ADMIN_ENV, adminClient, createVideo, getVideo } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import { publishRealTree, smallSource, startTestEdge, stopRealTree } from "../support/real-tree.ts";
import { type Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";
import { TestTranscoder } from "../support/transcoder.ts";

const ORIGIN = "http://frontend.test";
const MEDIA_TOKEN_SECRET = "edge-test-media-secret-0123456789abcdef";
const MEDIA_TOKEN_TTL_SECONDS = 7200;

let api: TestApi;
let edge: RunningEdge;
let viewer: Client;
let workDir: string;
let transcoder: TestTranscoder;
let videoId: number;
let tree: string;
let studio: StudioBuild;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "vf-edge-"));
  const sourcePath = await smallSource(workDir);
  studio = await buildStudio(join(workDir, "studio"));
  api = await startTestApi({
    ...ADMIN_ENV,
    STUDIO_DIR: join(workDir, "studio"),
    MEDIA_TOKEN_SECRET,
    MEDIA_TOKEN_TTL: `${MEDIA_TOKEN_TTL_SECONDS}s`,
  });
  const admin = await adminClient(api);
  viewer = await loggedInClient(api);
  transcoder = new TestTranscoder(api);
  videoId = (await createVideo(api, admin, { title: "Edge" })).id;
  ({ tree } = await publishRealTree(api, transcoder, videoId, sourcePath, {
    stagingName: "edge-test",
    ladderHeights: [180, 360],
    thumbnails: false,
  }));
  await eventually("video ready", async () => (await getVideo(admin, videoId)).processing_state === "ready");
  edge = await startTestEdge(api, MEDIA_TOKEN_SECRET, [ORIGIN]);
}, 90_000);

afterAll(() => stopRealTree({ edge, transcoder, api, workDir }));

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${edge.url}${path}`, { headers, redirect: "manual" });
const cookieHeader = () => ({
  cookie: [...viewer.cookies].map(([name, value]) => `${name}=${value}`).join("; "),
});
const urisOf = (playlist: string) =>
  playlist
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"));

/** One raw HTTP/1.1 exchange with `port` (what no fetch would send), the whole reply as latin1 text. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise<string>((resolveText, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("end", () => resolveText(Buffer.concat(chunks).toString("latin1")));
  });
}

/** Status, headers and body of a raw reply. */
function parseReply(text: string) {
  const end = text.indexOf("\r\n\r\n");
  const [statusLine = "", ...lines] = text.slice(0, end).split("\r\n");
  const headers = new Headers(
    lines.map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1).trim()]),
  );
  return { status: Number(statusLine.split(" ")[1]), headers, body: text.slice(end + 4) };
}

/** The first segment's URL exactly as a player resolves it from the playlists served through the edge. */
async function firstSegmentUrl(): Promise<URL> {
  const master = await get(`/api/video/${videoId}/master.m3u8`, cookieHeader());
  expect(master.status).toBe(200);
  const mediaUrl = new URL(urisOf(await master.text())[0]!, master.url);
  const media = await get(`${mediaUrl.pathname}${mediaUrl.search}`);
  expect(media.status).toBe(200);
  return new URL(urisOf(await media.text())[0]!, mediaUrl);
}

describe("segments with a valid token", () => {
  test("are sent by nginx: same bytes, MPEG-TS, immutable, shared caches bound to the token lifetime", async () => {
    const url = await firstSegmentUrl();
    const response = await get(`${url.pathname}${url.search}`, { origin: ORIGIN });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-served-by")).toBe("edge");
    expect(response.headers.get("content-type")).toBe("video/mp2t");
    const expected = readFileSync(join(tree, url.pathname.split("/").slice(-2).join("/")));
    expect(Buffer.from(await response.arrayBuffer()).equals(expected)).toBe(true);
    const cacheControl = response.headers.get("cache-control")!;
    expect(cacheControl).toBe(`public, max-age=31536000, s-maxage=${MEDIA_TOKEN_TTL_SECONDS}, immutable`);
    expect(response.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(response.headers.get("access-control-allow-credentials")).toBe("true");
  });

  test("with a trailing slash, byte ranges and ETag/304 as nginx does them", async () => {
    const url = await firstSegmentUrl();
    const slash = await get(`${url.pathname}/${url.search}`);
    expect(slash.status).toBe(200);
    expect(slash.headers.get("x-served-by")).toBe("edge");
    const etag = slash.headers.get("etag")!;
    expect(etag).toBeTruthy();
    const range = await get(`${url.pathname}${url.search}`, { range: "bytes=0-187" });
    expect(range.status).toBe(206);
    expect((await range.arrayBuffer()).byteLength).toBe(188);
    expect(range.headers.get("content-range")).toMatch(/^bytes 0-187\/\d+$/);
    const again = await get(`${url.pathname}${url.search}`, { "if-none-match": etag });
    expect(again.status).toBe(304);
  });

  test("a foreign Origin gets no CORS grant", async () => {
    const url = await firstSegmentUrl();
    const response = await get(`${url.pathname}${url.search}`, { origin: "http://evil.test" });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("everything else reaches the api, which answers as without the edge", () => {
  test("cookie only: served by the api", async () => {
    const url = await firstSegmentUrl();
    const response = await get(url.pathname, cookieHeader());
    expect(response.status).toBe(200);
    expect(response.headers.get("x-served-by")).toBeNull();
    expect(response.headers.get("cache-control")).toStartWith("private");
  });

  test("neither cookie nor token: 401 JSON", async () => {
    const url = await firstSegmentUrl();
    const response = await get(url.pathname);
    expect(response.status).toBe(401);
    expect(await response.json()).toHaveProperty("detail");
  });

  test("tampered, other video's, and expired tokens: 403 JSON with the api's reason", async () => {
    const url = await firstSegmentUrl();
    const token = url.searchParams.get("token")!;
    // Change the tag's first character: all six of its bits are data. (The last one of a 16-byte tag
    // carries two data bits and four padding bits that base64 decoders ignore, so swapping it for a
    // neighbour can decode to the same bytes.)
    const dot = token.indexOf(".");
    const tampered = `${token.slice(0, dot + 1)}${token[dot + 1] === "A" ? "B" : "A"}${token.slice(dot + 2)}`;
    const otherVideo = new MediaTokens(MEDIA_TOKEN_SECRET, 3600).mint(videoId + 1);
    const expired = new MediaTokens(MEDIA_TOKEN_SECRET, 60, () => Date.now() - 3_600_000).mint(videoId);
    const wrongSecret = new MediaTokens(`${MEDIA_TOKEN_SECRET}-other`, 3600).mint(videoId);
    // The same bytes spelled differently: the last character's four padding bits set.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const respelled = `${token.slice(0, -1)}${alphabet[alphabet.indexOf(token.at(-1)!) + 1]}`;
    expect(Buffer.from(respelled.split(".")[1]!, "base64url")).toEqual(
      Buffer.from(token.split(".")[1]!, "base64url"),
    );
    for (const [bad, reason] of [
      [tampered, /invalid/],
      [respelled, /invalid/],
      [otherVideo, /invalid/],
      [wrongSecret, /invalid/],
      [expired, /expired/],
    ] as const) {
      const response = await get(`${url.pathname}?v=1&token=${bad}`);
      expect(response.status, bad).toBe(403);
      expect(response.headers.get("x-served-by")).toBeNull();
      expect((await response.json()).detail).toMatch(reason);
    }
  });

  test("a token made with the api's own MediaTokens opens the segment at the edge", async () => {
    const url = await firstSegmentUrl();
    const minted = new MediaTokens(MEDIA_TOKEN_SECRET, 3600).mint(videoId);
    const response = await get(`${url.pathname}?v=1&token=${minted}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-served-by")).toBe("edge");
  });

  test("a rung the video lacks falls back to the nearest lower one (via the api)", async () => {
    const url = await firstSegmentUrl();
    const segment = url.pathname.split("/").at(-1);
    const response = await get(`/api/video/${videoId}/1080p/${segment}${url.search}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-served-by")).toBeNull();
  });

  test("an old or odd revision is the api's 404", async () => {
    const url = await firstSegmentUrl();
    const token = url.searchParams.get("token")!;
    for (const v of ["2", "0", "1x", "../1"]) {
      const response = await get(`${url.pathname}?v=${encodeURIComponent(v)}&token=${token}`);
      expect(response.status, v).toBe(404);
    }
  });

  test("traversal never reaches the disk through nginx", async () => {
    const url = await firstSegmentUrl();
    const token = url.searchParams.get("token")!;
    const { port } = new URL(edge.url);
    const attempts = [
      `/api/video/${videoId}/360p/../../../sources/x.ts?v=1&token=${token}`,
      `/api/video/${videoId}/360p/%2e%2e%2f%2e%2e%2fr1%2f360p%2fseg_00000.ts?v=1&token=${token}`,
      `/api/video/${videoId}/..%2F360p/seg_00000.ts?v=1&token=${token}`,
      `/api/video/${videoId}/360p/seg_00000.ts?v=1/../../..&token=${token}`,
    ];
    for (const path of attempts) {
      const text = await rawExchange(
        Number(port),
        `GET ${path} HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n`,
      );
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
      expect([400, 404], `${status} for ${path}`).toContain(status);
    }
  });

  test("the studio's page and assets, with the api's CSP and cache headers", async () => {
    const page = await get("/studio/");
    expect(page.status).toBe(200);
    expect(page.headers.get("cache-control")).toBe("no-cache");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    expect(page.headers.get("content-security-policy")).toStartWith("default-src 'self'; script-src 'self';");
    expect(await page.text()).toContain(`/studio/assets/${studio.script}`);
    const script = await get(`/studio/assets/${studio.script}`);
    expect(script.status).toBe(200);
    expect(script.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect((await script.arrayBuffer()).byteLength).toBe(studio.assets[studio.script]!);
    const clientRoute = await get("/studio/library?state=error");
    expect(clientRoute.status).toBe(200);
    await clientRoute.arrayBuffer();
  });

  test("/metrics is not public; the WebSocket upgrades through the edge", async () => {
    const metrics = await get("/metrics");
    expect(metrics.status).toBe(404);
    expect(metrics.headers.get("content-type")).toBe("application/json");
    expect(await metrics.json()).toEqual({ detail: "Not found." });
    expect((await get("/metrics/")).status).toBe(404);
    expect((await get("/metrics?format=json")).status).toBe(404);
    const socket = new WebSocket(`${edge.url.replace("http", "ws")}/api/ws`, {
      headers: { ...cookieHeader(), origin: ORIGIN },
    } as unknown as string[]);
    const welcome = await new Promise<{ type: string }>((resolve, reject) => {
      socket.onmessage = (event) => resolve(JSON.parse(String(event.data)));
      socket.onerror = () => reject(new Error("WebSocket error"));
    });
    expect(welcome.type).toBe("welcome");
    socket.close();
  });
});

describe("errors nginx answers itself are the api's JSON shape", () => {
  const port = () => Number(new URL(edge.url).port);
  const expectJsonError = (reply: ReturnType<typeof parseReply>, status: number, detail: RegExp) => {
    expect(reply.status).toBe(status);
    expect(reply.headers.get("content-type")).toBe("application/json");
    const body = JSON.parse(reply.body) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(["detail"]);
    expect(body.detail).toMatch(detail);
  };

  test("a malformed request: 400", async () => {
    for (const request of [
      "BREW /coffee HTCPCP/1.0\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: edge\r\nContent-Length: many\r\n\r\n",
      "GET / HTTP/1.1\r\n\r\n",
    ]) {
      const reply = parseReply(await rawExchange(port(), request));
      expectJsonError(reply, 400, /^Bad request\.$/);
    }
  });

  test("a header too large: 431; a URI too long: 414", async () => {
    const cookie = `Cookie: session=${"a".repeat(20_000)}`;
    const headers = parseReply(
      await rawExchange(
        port(),
        `GET /api/video/ HTTP/1.1\r\nHost: edge\r\n${cookie}\r\nConnection: close\r\n\r\n`,
      ),
    );
    expectJsonError(headers, 431, /too large/);
    const uri = parseReply(
      await rawExchange(
        port(),
        `GET /${"u".repeat(20_000)} HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n`,
      ),
    );
    expectJsonError(uri, 414, /too long/);
  });

  test("the api not answering: 502, with the CORS grant a browser needs to read it", async () => {
    const deadApi = await startEdge({
      port: await freePort(),
      // Nothing listens there: the api is stopped.
      apiUpstream: `127.0.0.1:${await freePort()}`,
      mediaRoot: api.config.mediaRoot,
      mediaTokenSecret: MEDIA_TOKEN_SECRET,
      sharedMaxAgeSeconds: 60,
      corsOrigins: [ORIGIN],
    });
    try {
      for (const path of ["/api/video/", `/api/video/${videoId}/360p/seg_00000.ts`]) {
        const response = await fetch(`${deadApi.url}${path}`, { headers: { origin: ORIGIN } });
        expect(response.status, path).toBe(502);
        expect(response.headers.get("content-type")).toBe("application/json");
        expect(response.headers.get("access-control-allow-origin")).toBe(ORIGIN);
        expect(await response.json()).toEqual({ detail: "The api is unavailable; try again shortly." });
      }
    } finally {
      await deadApi.stop();
    }
  });
});

describe("ranges", () => {
  const ranges = (count: number) =>
    `bytes=${Array.from({ length: count }, (_, i) => `${i * 2}-${i * 2}`).join(",")}`;

  test("a 700-range request for a segment gets the whole file once, not 700 parts", async () => {
    const url = await firstSegmentUrl();
    const whole = readFileSync(join(tree, url.pathname.split("/").slice(-2).join("/")));
    // From nginx (token: max_ranges) and from the api behind it (cookie only), which does the same.
    for (const [path, headers] of [
      [`${url.pathname}${url.search}`, {}],
      [url.pathname, cookieHeader()],
    ] as const) {
      const response = await get(path, { ...headers, range: ranges(700) });
      expect(response.status, path).toBe(200);
      expect(response.headers.get("content-type")).toBe("video/mp2t");
      expect(Buffer.from(await response.arrayBuffer()).equals(whole)).toBe(true);
    }
  });

  test("one range is still served as 206", async () => {
    const url = await firstSegmentUrl();
    const response = await get(`${url.pathname}${url.search}`, { range: "bytes=188-375" });
    expect(response.status).toBe(206);
    expect((await response.arrayBuffer()).byteLength).toBe(188);
  });
});

/** The uid of each child of `pid` (nginx's workers of that master), from /proc. */
function childUids(pid: number): number[] {
  const uids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent !== pid) continue;
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      uids.push(Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]));
    } catch {
      // gone meanwhile
    }
  }
  return uids;
}

describe("the edge as npm run up runs it", () => {
  test("its nginx workers do not run as root", () => {
    const uids = childUids(edge.pid);
    expect(uids.length).toBeGreaterThan(0);
    for (const uid of uids) expect(uid).not.toBe(0);
  });

  test("the CLI grants CORS to the origins the api allows, with no CORS_ORIGINS of its own", async () => {
    const port = await freePort();
    // The api's development default (CORS_ORIGINS unset: localhost:5500) and its PUBLIC_URL.
    const cli = Bun.spawn([process.execPath, "infra/nginx/edge.ts"], {
      cwd: resolve(import.meta.dir, "../.."),
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        NODE_ENV: "development",
        PUBLIC_URL: "http://public.test",
        MEDIA_TOKEN_SECRET,
        MEDIA_ROOT: api.config.mediaRoot,
        API_UPSTREAM: new URL(api.url).host,
        EDGE_PORT: String(port),
      },
      stdout: "ignore",
      stderr: "inherit",
    });
    try {
      const url = await firstSegmentUrl();
      const segment = `http://127.0.0.1:${port}${url.pathname}${url.search}`;
      await eventually(
        "the CLI's edge answers",
        async () => {
          try {
            return (await fetch(segment)).ok;
          } catch {
            return false;
          }
        },
        30_000,
      );
      for (const origin of ["http://localhost:5500", "http://127.0.0.1:5500", "http://public.test"]) {
        const response = await fetch(segment, { headers: { origin } });
        expect(response.headers.get("x-served-by")).toBe("edge");
        expect(response.headers.get("access-control-allow-origin"), origin).toBe(origin);
        expect(response.headers.get("access-control-allow-credentials")).toBe("true");
      }
      const foreign = await fetch(segment, { headers: { origin: "http://evil.test" } });
      expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      cli.kill("SIGTERM");
      await cli.exited;
    }
  });
});
