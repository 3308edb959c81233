// The edge's access log (EDGE_ACCESS_LOG=1): one JSON line per request, and a direct-upload URL's path
// keeps its id but never its HMAC (the URL's credential), as the api's own request log. nginx writes the
// log to its stderr, so the edge runs in a process of its own whose stderr is a file this test reads (a
// file, not a pipe: nginx opens /dev/stderr again, which a socket pair refuses). With the api away, its
// error log must show neither a direct-upload signature nor a segment's token.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "../../dev/services.ts";

const EDGE_MODULE = resolve(import.meta.dir, "../../infra/nginx/edge.ts");
const MEDIA_TOKEN_SECRET = "edge-access-log-media-secret-0123456789ab";

let media: string;
let edge: Subprocess<"ignore", "pipe", "inherit">;
let edgeUrl: string;
let stderrPath: string;
let upstream: ReturnType<typeof Bun.serve>;
const logged = () => readFileSync(stderrPath, "utf8").split("\n");

beforeAll(async () => {
  media = mkdtempSync(join(tmpdir(), "vf-edge-log-"));
  chmodSync(media, 0o755); // the edge's workers run as nobody when the test runs as root
  const port = await freePort();
  // The api's place: an answer for every request (an error page would show in the log as its own path).
  upstream = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(null, { status: 204 }) });
  const script = `
    import { startEdge } from ${JSON.stringify(EDGE_MODULE)};
    const edge = await startEdge(${JSON.stringify({
      port,
      apiUpstream: `127.0.0.1:${upstream.port}`,
      mediaRoot: media,
      mediaTokenSecret: MEDIA_TOKEN_SECRET,
      sharedMaxAgeSeconds: 60,
      corsOrigins: ["http://frontend.test"],
      accessLog: true,
    })});
    console.log("ready");
    process.on("SIGTERM", async () => { await edge.stop(); process.exit(0); });`;
  stderrPath = join(media, "edge.stderr");
  // Opened for appending: nginx's error log writes to this descriptor while its access log opens
  // /dev/stderr again (with O_APPEND); at a descriptor's own offset one would write over the other.
  edge = Bun.spawn(["bun", "-e", script], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: openSync(stderrPath, "a"),
  }) as unknown as Subprocess<"ignore", "pipe", "inherit">;
  const reader = edge.stdout.getReader();
  const { value } = await reader.read();
  const said = new TextDecoder().decode(value);
  if (!said.includes("ready")) throw new Error(`the edge did not start: ${said}${logged().join("\n")}`);
  edgeUrl = `http://127.0.0.1:${port}`;
}, 30_000);
afterAll(async () => {
  edge?.kill("SIGTERM");
  await edge?.exited;
  upstream?.stop(true);
  if (media) rmSync(media, { recursive: true, force: true });
});

test("a direct-upload URL's path is logged with its id and without its signature", async () => {
  const id = "0f5c1d2e-1111-4222-8333-444455556666";
  const signature = "c2lnbmF0dXJlLW9mLXRoZS1kaXJlY3QtdXBsb2Fk";
  const uploadId = "0123456789abcdef0123456789abcdef";
  await fetch(`${edgeUrl}/api/uploads/direct/${id}.${signature}/${uploadId}`, { method: "HEAD" });
  await fetch(`${edgeUrl}/api/videos/`);
  const lines = async () => {
    for (let tries = 0; tries < 50; tries++) {
      const json = logged()
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line));
      if (json.length >= 2) return json as Array<{ method: string; uri: string }>;
      await Bun.sleep(100);
    }
    throw new Error(`the edge logged: ${logged().join("\n")}`);
  };
  const requests = (await lines()).map((line) => `${line.method} ${line.uri}`);
  expect(requests).toEqual([`HEAD /api/uploads/direct/${id}.redacted/${uploadId}`, "GET /api/videos/"]);
  expect(logged().join("\n")).not.toContain(signature);
}, 30_000);

test("with the api away, nginx's error log says so for other paths but never shows a direct-upload URL or a token", async () => {
  upstream.stop(true);
  const id = "1a2b3c4d-1111-4222-8333-444455556666";
  const signature = "YW5vdGhlci1zaWduYXR1cmUtbmV2ZXItbG9nZ2Vk";
  const direct = await fetch(`${edgeUrl}/api/uploads/direct/${id}.${signature}/x`, { method: "PATCH" });
  expect(direct.status).toBe(502);
  const token = `4102444800.${"t0kenThatMustNeverBeLogg".slice(0, 21)}A`;
  const segment = await fetch(`${edgeUrl}/api/video/1/360p/seg_00000.ts?v=1&token=${token}`);
  expect(segment.status).toBe(502);
  const playlist = await fetch(`${edgeUrl}/api/video/1/480p/index.m3u8?v=1&token=${token}`);
  expect(playlist.status).toBe(502);
  const other = await fetch(`${edgeUrl}/api/videos/?after-stop`);
  expect(other.status).toBe(502);
  // Both requests' access lines (nginx writes a request's error line before its access line).
  const answered = () => logged().filter((line) => line.startsWith("{") && line.includes('"status":502'));
  for (let tries = 0; tries < 50 && answered().length < 4; tries++) await Bun.sleep(100);
  const text = logged().join("\n");
  expect(text).not.toContain(signature);
  // The error log works (the other path's failure is in it) …
  expect(text).toMatch(/\[error\].*connect\(\) failed.*\/api\/videos\/\?after-stop/);
  // … and the access log has both 502s as the client sent them (not as the error page they went to),
  // the direct upload with its id and without its HMAC, the other without its query.
  expect(text).toContain(`"method":"PATCH","uri":"/api/uploads/direct/${id}.redacted/x","status":502`);
  expect(text).toContain(`"method":"GET","uri":"/api/videos/","status":502`);
  expect(text).not.toContain("/.edge-error");
  expect(text).not.toContain(signature);
  // A segment's or a rewritten playlist's token, in the query, is in neither log.
  expect(text).toContain(`"method":"GET","uri":"/api/video/1/360p/seg_00000.ts","status":502`);
  expect(text).toContain(`"method":"GET","uri":"/api/video/1/480p/index.m3u8","status":502`);
  expect(text).not.toContain(token.split(".")[1]!);
}, 30_000);
