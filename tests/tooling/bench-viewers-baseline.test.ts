// The baseline of `bench:viewers` (infra/bench/viewers-baseline.ts): a plain nginx that answers the k6
// viewer scenario's requests with what the api answered and the same segment files, without any check.
// Started against a real api with a published HLS tree, it must serve the catalogue and playlists the
// api served, the segment bytes under the playlists' URIs (and without a token), and answer sign-in and
// heartbeats as the scenario expects.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import { createActiveUser } from "../../dev/browser-client.ts";
import { ADMIN_ENV, adminClient, createVideo, getVideo } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import { fabricatedResult } from "../support/fixtures.ts";
import { type Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";
import { TestTranscoder } from "../support/transcoder.ts";

let api: TestApi;
let viewer: Client;
let transcoder: TestTranscoder;
let work: string;
let baseline: Subprocess;
let baselineUrl: string;
let videoId: number;
const segmentBytes = crypto.getRandomValues(new Uint8Array(4096));

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "vf-viewers-baseline-"));
  api = await startTestApi(ADMIN_ENV);
  const admin = await adminClient(api);
  viewer = await loggedInClient(api);
  transcoder = new TestTranscoder(api);
  videoId = (await createVideo(api, admin, { title: "Baseline" })).id;

  // A small published tree: a master playlist, one media playlist per rung, one segment each.
  const staging = await api.runtime.storage.createStagingDir("viewers-baseline-test");
  const result = fabricatedResult(2);
  const master = ["#EXTM3U"];
  for (const rung of result.renditions) {
    master.push(`#EXT-X-STREAM-INF:BANDWIDTH=${rung.bandwidth},RESOLUTION=${rung.width}x${rung.height}`);
    master.push(`${rung.name}/index.m3u8`);
    mkdirSync(join(staging, rung.name), { recursive: true });
    writeFileSync(
      join(staging, rung.name, "index.m3u8"),
      "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg_00000.ts\n#EXT-X-ENDLIST\n",
    );
    writeFileSync(join(staging, rung.name, "seg_00000.ts"), segmentBytes);
  }
  writeFileSync(join(staging, "master.m3u8"), `${master.join("\n")}\n`);
  await transcoder.publishReady(videoId, staging, result);
  await eventually(
    "published",
    async () => (await getVideo(admin, videoId)).processing_state === "ready",
    15_000,
  );

  writeFileSync(
    join(work, "stack.json"),
    JSON.stringify({ base_url: api.url, media_root: api.config.mediaRoot }),
  );
  const account = await createActiveUser(api);
  writeFileSync(join(work, "seed.json"), JSON.stringify({ viewers: [account], videos: [{ id: videoId }] }));
  const dir = join(work, "nginx");
  mkdirSync(dir);
  baseline = spawn(
    [
      "bun",
      join(import.meta.dir, "../../infra/bench/viewers-baseline.ts"),
      join(work, "stack.json"),
      join(work, "seed.json"),
      dir,
    ],
    { stdout: "inherit", stderr: "inherit" },
  );
  const env = join(dir, "baseline.env");
  await eventually("the baseline listens", async () => existsSync(env), 30_000);
  baselineUrl = /BASELINE_URL=(\S+)/.exec(readFileSync(env, "utf8"))![1]!;
}, 90_000);

afterAll(async () => {
  baseline?.kill("SIGTERM");
  await baseline?.exited;
  await transcoder?.close();
  await api?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

test("sign-in answers 200 with a csrftoken cookie, heartbeats 204, from nginx alone", async () => {
  const login = await fetch(`${baselineUrl}/api/login/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "anyone@example.com", password: "anything" }),
  });
  expect(login.status).toBe(200);
  expect(login.headers.getSetCookie().some((cookie) => cookie.startsWith("csrftoken="))).toBe(true);
  const heartbeat = await fetch(`${baselineUrl}/api/progress/${videoId}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ position_seconds: 10 }),
  });
  expect(heartbeat.status).toBe(204);
});

test("the catalogue and the playlists are what the api answered", async () => {
  const catalogue = await fetch(`${baselineUrl}/api/videos/?limit=50`);
  expect(catalogue.status).toBe(200);
  const fromApi = await (await viewer.get("/api/videos/?limit=50")).json();
  expect(await catalogue.json()).toEqual(fromApi);

  const master = await (await fetch(`${baselineUrl}/api/video/${videoId}/master.m3u8`)).text();
  const uris = master.split("\n").filter((line) => line && !line.startsWith("#"));
  expect(uris.map((uri) => uri.split("?")[0])).toEqual(["180p/index.m3u8", "144p/index.m3u8"]);
  // The api's signed query strings are kept, as a player would get them.
  expect(uris.every((uri) => /[?&]token=/.test(uri))).toBe(true);
});

test("segments under the playlists' URIs are the published files, token or not", async () => {
  const masterUrl = `${baselineUrl}/api/video/${videoId}/master.m3u8`;
  const master = await (await fetch(masterUrl)).text();
  const mediaUrl = new URL(master.split("\n").find((line) => line.startsWith("180p/"))!, masterUrl);
  const media = await fetch(mediaUrl);
  expect(media.status).toBe(200);
  const segmentUri = (await media.text()).split("\n").find((line) => line.startsWith("seg_00000.ts"))!;
  const segment = await fetch(new URL(segmentUri, mediaUrl));
  expect(segment.status).toBe(200);
  expect(new Uint8Array(await segment.arrayBuffer())).toEqual(segmentBytes);
  // No access check: the same file without the token (the edge would hand this to the api: 401/403).
  const bare = await fetch(`${baselineUrl}/api/video/${videoId}/144p/seg_00000.ts?v=1`);
  expect(bare.status).toBe(200);
  expect(new Uint8Array(await bare.arrayBuffer())).toEqual(segmentBytes);
});
