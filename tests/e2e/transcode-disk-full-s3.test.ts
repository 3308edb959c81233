// Object storage with a transcoder scratch disk too small for a job: a real 32 MiB tmpfs as
// TRANSCODER_SCRATCH, a SeaweedFS bucket for the media. The job's copy of the source
// (transcoder/source-cache.ts) lives on that disk beside the encode: when the encode fills it, the copy
// is let go before the disk is judged, so a job that alone needs more than the disk spends its attempts
// and ends with "the media storage is full", instead of being handed back uncounted again and again
// (its own copy keeping the disk "full" until it ended, then the space back, then the same again).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testS3 } from "../../dev/services.ts";
import { ADMIN_ENV, adminClient, getVideo } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import {
  farmSource,
  type InProcessTranscoder,
  startInProcessTranscoder,
  untilState,
  uploadFile,
} from "../support/farm.ts";
import { entriesOf } from "../support/media-root.ts";
import { linesSaying, mountSmallDisk, type SmallDisk } from "../support/small-disk.ts";
import { type Client, startTestApi, type TestApi } from "../support/test-api.ts";

const MiB = 1024 * 1024;

let scratch: string;
let disk: SmallDisk | undefined;
let mountPoint: string;
let bucket: Awaited<ReturnType<typeof testS3>>;
let api: TestApi;
let admin: Client;
let worker: InProcessTranscoder | undefined;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "vf-disk-full-s3-src-"));
  disk = mountSmallDisk("transcode-disk-full-s3");
  mountPoint = disk.path;
  bucket = await testS3();
  api = await startTestApi({
    ...ADMIN_ENV,
    ...bucket.env,
    MEDIA_ROOT: join(scratch, "api-media"),
    TRANSCODE_ATTEMPTS: "3",
    TRANSCODE_BACKOFF_SECONDS: "1",
  });
  admin = await adminClient(api);
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await api?.stop();
  await bucket?.drop();
  disk?.remove();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const freeBytes = () => disk!.freeBytes();

test("a job too big for the scratch disk spends its attempts although its source copy filled the disk too", async () => {
  const sourcePath = await farmSource(scratch, "large.mp4", 6, 1280, 720);
  const sourceBytes = statSync(sourcePath).size;
  // Without the copy there must be room above the 1 MiB headroom, with it not.
  expect(sourceBytes).toBeGreaterThan(MiB);
  const created = await uploadFile(api, admin, sourcePath);
  // Room for the source and 0.5 MiB: the claim's check passes (more than 1 MiB free), the download
  // fits, the ladder (about 3 MiB) does not, and with the copy still there the disk is below 1 MiB.
  writeFileSync(join(mountPoint, "filler.bin"), new Uint8Array(freeBytes() - sourceBytes - MiB / 2));
  worker = await startInProcessTranscoder(api, "scratch-too-small", {
    ...bucket.env,
    TRANSCODER_SCRATCH: join(mountPoint, "scratch"),
    TRANSCODER_MIN_FREE_MB: "1",
    TRANSCODER_SPACE_POLL_SECONDS: "1",
  });
  const transcoder = worker;

  const first = await eventually(
    "the first attempt failed",
    async () => linesSaying(transcoder.logs(), "job attempt failed")[0],
    90_000,
  );
  expect(first).toMatchObject({ attempt: 1, err: { message: "the media storage is full" } });
  expect((await getVideo(admin, created.id)).processing_error).toBeNull();

  const failed = await untilState(admin, created.id, "error", 120_000);
  expect(failed.processing_error).toBe("Transcoding failed after 3 attempts: the media storage is full");
  expect(linesSaying(transcoder.logs(), "job attempt failed").map((line) => line.attempt)).toEqual([1, 2, 3]);
  expect(linesSaying(transcoder.logs(), "job handed back uncounted: the media storage is full")).toEqual([]);
  // Each attempt downloaded the source (nothing else held it) and left nothing on the disk.
  expect(linesSaying(transcoder.logs(), "source downloaded")).toHaveLength(3);
  expect(entriesOf(join(mountPoint, "scratch")).filter((entry) => !entry.startsWith("source-cache"))).toEqual(
    [],
  );
  expect(entriesOf(join(mountPoint, "scratch", "source-cache"))).toEqual([]);
}, 300_000);
