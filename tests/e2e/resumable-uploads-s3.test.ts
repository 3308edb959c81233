// Resumable uploads into object storage (a SeaweedFS bucket through the project's S3 driver): two api
// replicas that share no disk take the chunks in turn while the connection is cut twice; the parts live
// in the bucket, so either replica resumes; the assembled source is the file sent and the parts are gone.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { videos } from "../../db/schema/index.ts";
import { testS3 } from "../../dev/services.ts";
import { ADMIN_ENV, adminClient, sessionHeaders } from "../support/admin.ts";
import { tinyMp4Bytes } from "../support/fixtures.ts";
import { type Client, startTestApi, type TestApi } from "../support/test-api.ts";
import { type RoundRobin, sha256Hex, sourceOf, startRoundRobin, tusClientUpload } from "../support/tus.ts";

const MiB = 1024 * 1024;
const workDir = mkdtempSync(join(tmpdir(), "vf-tus-s3-"));
let bucket: Awaited<ReturnType<typeof testS3>>;
let first: TestApi;
let second: TestApi;
let admin: Client;
let front: RoundRobin;

beforeAll(async () => {
  bucket = await testS3();
  const env = (host: string) => ({
    ...ADMIN_ENV,
    ...bucket.env,
    MEDIA_ROOT: join(workDir, host, "media"),
    STORAGE_SWEEP_INTERVAL_SECONDS: "86400",
  });
  first = await startTestApi(env("a"), { consumeEvents: false });
  second = await startTestApi(env("b"), { consumeEvents: false, shareWith: first });
  admin = await adminClient(first);
  front = startRoundRobin([first.url, second.url]);
}, 120_000);
afterAll(async () => {
  front?.stop();
  await second?.stop();
  await first?.stop();
  await bucket?.drop();
  rmSync(workDir, { recursive: true, force: true });
});

async function objectsUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of first.runtime.storage.list(prefix)) keys.push(object.key);
  return keys;
}

test("24 MiB in 8 MiB chunks, replicas in turn, cut twice: one video, its source in the bucket", async () => {
  expect(first.runtime.storage.kind).toBe("s3");
  const file = sourceOf(await tinyMp4Bytes(), 24 * MiB);
  front.cutAt([5 * MiB, 17 * MiB]);
  const { url } = await tusClientUpload(file, {
    endpoint: `${front.url}/api/uploads/`,
    chunkSize: 8 * MiB,
    retryDelays: [0, 200, 500, 1000],
    headers: sessionHeaders(admin),
    metadata: { title: "Into the bucket", category: "S3", filename: "film.mp4" },
  });
  expect(front.cuts()).toBe(2);
  expect(front.served.get(second.url)).toBeGreaterThan(0);
  const rows = await first.database.db.select().from(videos).where(eq(videos.title, "Into the bucket"));
  expect(rows).toHaveLength(1);
  const chunks: Uint8Array[] = [];
  for await (const chunk of first.runtime.storage.readStream(rows[0]!.sourceKey)) chunks.push(chunk);
  expect(sha256Hex(Buffer.concat(chunks))).toBe(sha256Hex(file));
  const uploadId = url.split("/").at(-1)!;
  expect(await objectsUnder(`uploads/${uploadId}/`)).toEqual([
    `uploads/${uploadId}/complete`,
    `uploads/${uploadId}/info.json`,
  ]);
}, 180_000);
