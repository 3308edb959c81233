// The authemail player's MP4 URLs over a REAL transcoded tree (3 s 640×360, rungs 180p and 360p, each
// with its progressive MP4): `file` and the siblings its dashboard derives by replacing `.mp4` with
// `_<N>p.mp4` answer 302 to the rung's signed MP4, or 404 for a rung the video lacks; the MP4 itself
// is served with exact byte ranges, without any credential but the signed URL.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateVideo } from "../../dev/media.ts";
import { transcode } from "../../transcoder/pipeline.ts";
import { ADMIN_ENV, adminClient, createVideo, getVideo } from "../support/admin.ts";
import { AUTHEMAIL_ENV, type AuthemailClient, authemailUser } from "../support/authemail.ts";
import { eventually } from "../support/eventually.ts";
import { startTestApi, type TestApi } from "../support/test-api.ts";
import { TestTranscoder } from "../support/transcoder.ts";

const PUBLIC_URL = "http://api.videoflix.test";

let api: TestApi;
let workDir: string;
let transcoder: TestTranscoder;
let viewer: AuthemailClient;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "vf-authemail-mp4-"));
  const sourcePath = await generateVideo(join(workDir, "source.mp4"), {
    seconds: 3,
    width: 640,
    height: 360,
    fps: 25,
    audio: "stereo",
  });
  api = await startTestApi({ ...ADMIN_ENV, ...AUTHEMAIL_ENV, PUBLIC_URL });
  const admin = await adminClient(api);
  transcoder = new TestTranscoder(api);
  const videoId = (await createVideo(api, admin, { title: "With MP4s" })).id;
  const staging = await api.runtime.storage.createStagingDir("authemail-mp4-test");
  const result = await transcode({
    sourcePath,
    outputDir: staging,
    segmentSeconds: 1,
    preset: "ultrafast",
    ladderHeights: [180, 360],
    thumbnails: false,
  });
  await transcoder.publishReady(videoId, staging, result);
  await eventually(
    "ready",
    async () => (await getVideo(admin, videoId)).processing_state === "ready",
    15_000,
  );
  viewer = (await authemailUser(api)).client;
}, 180_000);

afterAll(async () => {
  await transcoder?.close();
  await api?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** A URL of PUBLIC_URL, asked of the test api. */
const local = (url: string) => url.replace(PUBLIC_URL, api.url);

test("the player's chain: 1080p and 720p 404, 360p plays, 120p 404, the original is the tallest", async () => {
  const [video] = (await (await viewer.get("/videos/")).json()) as Array<{
    file: string;
    resolutions: Array<{ label: string; src: string; type: string }>;
  }>;
  expect(video!.file).toStartWith(`${PUBLIC_URL}/compat/authemail/media/`);
  expect(video!.resolutions.map((rung) => rung.label)).toEqual(["360p", "180p"]);
  // What the dashboard derives from `file`, in its order, the original last.
  const chain = ["1080p", "720p", "360p", "120p"]
    .map((label) => video!.file.replace(".mp4", `_${label}.mp4`))
    .concat(video!.file);
  const answers = await Promise.all(chain.map((url) => fetch(local(url), { redirect: "manual" })));
  expect(answers.map((answer) => answer.status)).toEqual([404, 404, 302, 404, 302]);
  const [to360, toOriginal] = [answers[2]!.headers.get("location")!, answers[4]!.headers.get("location")!];
  expect(to360).toContain("/api/video/");
  expect(to360).toContain("/360p/");
  expect(toOriginal.split("?")[0]).toBe(to360.split("?")[0]!);
  expect(answers[2]!.headers.get("cache-control")).toBe("private, max-age=60");

  const whole = await fetch(local(to360));
  expect(whole.status).toBe(200);
  expect(whole.headers.get("content-type")).toContain("video/mp4");
  const bytes = new Uint8Array(await whole.arrayBuffer());
  const ranged = await fetch(local(to360), { headers: { range: "bytes=100-199" } });
  expect(ranged.status).toBe(206);
  expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(bytes.slice(100, 200));
  // The 180p rung is there too, under its own name.
  const to180 = await fetch(local(video!.file.replace(".mp4", "_180p.mp4")), { redirect: "manual" });
  expect(to180.status).toBe(302);
  expect(to180.headers.get("location")).toContain("/180p/");
}, 60_000);
