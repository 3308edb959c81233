// `bun run storage:migrate`: a local install (PostgreSQL rows, files under MEDIA_ROOT) moved to a real
// SeaweedFS bucket by the CLI run as a subprocess; then an api started on that bucket plays it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { eq } from "drizzle-orm";
import { outputPrefixFor } from "../../contract/media.ts";
import { openDatabase } from "../../db/client.ts";
import { categories, videos } from "../../db/schema/index.ts";
import { createTestDatabase, freePort, testS3 } from "../../dev/services.ts";
import { LocalMediaStorage, type MediaStorage, S3MediaStorage } from "../../storage/index.ts";
import { fabricatedResult, publishTree } from "../support/fixtures.ts";
import { s3StorageFor } from "../support/s3-storage.ts";
import { loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const INSTALL_PREFIX = "install-a";

const scratch = mkdtempSync(join(tmpdir(), "vf-storage-migrate-"));
const mediaRoot = join(scratch, "media");
const local = new LocalMediaStorage(mediaRoot);
let database: { url: string; drop: () => Promise<void> };
let bucket: Awaited<ReturnType<typeof testS3>>;
let s3: MediaStorage;
let api: TestApi | undefined;
/** Every object the install holds: key → size. */
const installed = new Map<string, number>();
const sourceKeys: string[] = [];

/** A real HLS tree (publishTree's files with playlists a player and the migration can follow). */
function writePublishedTree(videoId: number, revision: number): string {
  const prefix = outputPrefixFor(videoId, revision);
  const dir = publishTree(mediaRoot, videoId, revision);
  const result = fabricatedResult();
  writeFileSync(
    join(dir, result.masterPlaylist),
    [
      "#EXTM3U",
      ...result.renditions.flatMap((rung) => [
        `#EXT-X-STREAM-INF:BANDWIDTH=${rung.bandwidth},RESOLUTION=${rung.width}x${rung.height}`,
        `${rung.name}/index.m3u8`,
      ]),
      "",
    ].join("\n"),
  );
  for (const rung of result.renditions) {
    writeFileSync(
      join(dir, rung.name, "index.m3u8"),
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg_00000.ts\n#EXT-X-ENDLIST\n",
    );
    writeFileSync(join(dir, rung.name, "seg_00000.ts"), new Uint8Array(40_000 + rung.height).fill(0x47));
  }
  return prefix;
}

function writeSource(bytes: number): string {
  const key = `sources/${crypto.randomUUID()}.mp4`;
  mkdirSync(join(mediaRoot, "sources"), { recursive: true });
  writeFileSync(
    join(mediaRoot, key),
    new Uint8Array(bytes).map((_, i) => i % 251),
  );
  sourceKeys.push(key);
  return key;
}

const bucketEnv = () => {
  const { STORAGE_URL: _own, ...s3Env } = bucket.env;
  return s3Env;
};

/** The CLI as an operator runs it: the install's settings, the bucket's S3_*, `--to`. */
async function migrate(...argv: Array<string | Record<string, string>>) {
  const args = argv.filter((arg) => typeof arg === "string");
  const extraEnv = Object.assign({}, ...argv.filter((arg) => typeof arg !== "string"));
  const child = Bun.spawn(["bun", "api/cli/storage-migrate.ts", ...args], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? scratch,
      DATABASE_URL: database.url,
      STORAGE_URL: `file://${mediaRoot}`,
      ...bucketEnv(),
      ...extraEnv,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  const summary = /(?:would copy|copied) (\d+) objects \((\d+) bytes\), skipped (\d+) already present/.exec(
    stdout,
  );
  return {
    code,
    stdout,
    stderr,
    copied: summary ? Number(summary[1]) : null,
    copiedBytes: summary ? Number(summary[2]) : null,
    skipped: summary ? Number(summary[3]) : null,
  };
}

const to = () => `s3://${bucket.bucket}/${INSTALL_PREFIX}`;

async function bucketObjects(storage: MediaStorage = s3): Promise<Map<string, number>> {
  const objects = new Map<string, number>();
  // Listing "" is not a folder to the S3 driver: list the install's two folders.
  for (const folder of ["sources/", "videos/"]) {
    for await (const object of storage.list(folder)) objects.set(object.key, object.size);
  }
  return objects;
}

const totalBytes = () => [...installed.values()].reduce((sum, size) => sum + size, 0);

beforeAll(async () => {
  [database, bucket] = await Promise.all([createTestDatabase(), testS3()]);
  s3 = s3StorageFor(bucket, `${INSTALL_PREFIX}/`, scratch);
  const handle = await openDatabase({ url: database.url, pgliteDir: "", poolSize: 1 });
  try {
    await handle.migrate();
    const [category] = await handle.db.insert(categories).values({ name: "Drama" }).returning();
    const result = fabricatedResult();
    // Two published videos (the second on its second revision) and one still waiting for its transcode.
    for (const [title, revision, published, sourceBytes] of [
      ["First", 1, true, 3 * 1024 * 1024 + 5],
      ["Second", 2, true, 200_001],
      ["Pending", 1, false, 70_000],
    ] as const) {
      const sourceKey = writeSource(sourceBytes);
      const [row] = await handle.db
        .insert(videos)
        .values({
          title,
          categoryId: category!.id,
          sourceKey,
          sourceBytes,
          revision,
          processingState: published ? "ready" : "pending",
        })
        .returning({ id: videos.id });
      if (!published) continue;
      await handle.db
        .update(videos)
        .set({
          publishedRevision: revision,
          publishedPrefix: writePublishedTree(row!.id, revision),
          renditions: result.renditions,
          masterPlaylist: result.masterPlaylist,
          posters: result.posters,
          durationSeconds: result.durationSeconds,
          readyAt: new Date(),
        })
        .where(eq(videos.id, row!.id));
    }
  } finally {
    await handle.close();
  }
  for await (const object of local.list("")) installed.set(object.key, object.size);
}, 60_000);

afterAll(async () => {
  await api?.stop();
  await bucket?.drop();
  await database?.drop();
  rmSync(scratch, { recursive: true, force: true });
});

describe("storage:migrate", () => {
  test("the install under test: 3 sources and 2 published trees of 9 objects", () => {
    expect(installed.size).toBe(3 + 2 * 9);
    expect(sourceKeys.every((key) => installed.has(key))).toBe(true);
  });

  test("without --to it stops with its usage (exit 64)", async () => {
    const run = await migrate();
    expect(run.code).toBe(64);
    expect(run.stderr).toContain("--to is required");
  });

  test("--dry-run counts everything and writes nothing", async () => {
    const run = await migrate("--to", to(), "--dry-run");
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.copied).toBe(installed.size);
    expect(run.copiedBytes).toBe(totalBytes());
    expect(run.stdout).toContain("dry run: nothing was written");
    expect((await bucketObjects()).size).toBe(0);
  }, 60_000);

  test("an interrupted run (half copied, one object cut short) is finished by the next: nothing copied twice", async () => {
    const keys = [...installed.keys()];
    const half = keys.slice(0, Math.floor(keys.length / 2));
    for (const key of half) {
      await s3.putStream(key, Bun.file(local.localPath(key)).stream(), { maxBytes: Number.MAX_SAFE_INTEGER });
    }
    // An object of the wrong size (another tool's partial upload) is copied again, not trusted.
    const cut = keys[keys.length - 1]!;
    await s3.putStream(
      cut,
      (async function* () {
        yield new Uint8Array(3);
      })(),
      { maxBytes: 3 },
    );

    const run = await migrate("--to", to(), "--concurrency", "4");
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.skipped).toBe(half.length);
    expect(run.copied).toBe(keys.length - half.length);
    // A line per video, with the running totals.
    for (const id of [1, 2, 3]) expect(run.stdout).toMatch(new RegExp(`^video ${id}: `, "m"));
    expect(run.stdout).toContain(`${installed.size}/${installed.size} objects`);
    // And the settings that switch the install, the secret left out of the terminal.
    expect(run.stdout).toContain(`STORAGE_URL=${to()}\n`);
    expect(run.stdout).toContain(`S3_ENDPOINT=${bucket.endpoint}\n`);
    expect(run.stdout).toContain(`S3_ACCESS_KEY_ID=${bucket.accessKeyId}\n`);
    expect(run.stdout).not.toContain(bucket.secretAccessKey);

    expect(await bucketObjects()).toEqual(installed);
  }, 120_000);

  test("a second run copies nothing, and --write-env sets the bucket in the env file", async () => {
    const envFile = join(scratch, "install.env");
    writeFileSync(
      envFile,
      `# the install\nJWT_SECRET=keep-me\nSTORAGE_URL=file://${mediaRoot}\nMEDIA_ROOT=${mediaRoot}\n`,
    );
    const run = await migrate("--to", to(), "--write-env", envFile);
    expect(run.code).toBe(0);
    expect(run.copied).toBe(0);
    expect(run.skipped).toBe(installed.size);

    const written = await Bun.file(envFile).text();
    expect(written).toStartWith(
      `# the install\nJWT_SECRET=keep-me\nSTORAGE_URL=${to()}\nMEDIA_ROOT=${mediaRoot}\n`,
    );
    expect(written).toContain(`\nS3_SECRET_ACCESS_KEY=${bucket.secretAccessKey}\n`);
    expect(written.match(/^STORAGE_URL=/gm)?.length).toBe(1);
    const settings = Object.fromEntries(
      written
        .split("\n")
        .filter((line) => /^[A-Z_0-9]+=/.test(line))
        .map((line) => [
          line.slice(0, line.indexOf("=")),
          line.slice(line.indexOf("=") + 1).replace(/^"|"$/g, ""),
        ]),
    );
    expect(settings).toMatchObject({ ...bucketEnv(), STORAGE_URL: to(), JWT_SECRET: "keep-me" });
  }, 60_000);

  test("an api started on the bucket serves the migrated master playlist and its segments", async () => {
    api = await startTestApi({ ...bucket.env, STORAGE_URL: to(), DATABASE_URL: database.url });
    expect(api.runtime.storage.kind).toBe("s3");
    const viewer = await loggedInClient(api);
    const master = await viewer.get("/api/video/2/master.m3u8");
    expect(master.status).toBe(200);
    const text = await master.text();
    expect(text).toContain("#EXT-X-STREAM-INF");
    const rung = text.split("\n").find((line) => line.startsWith("180p/index.m3u8"))!;
    expect(rung).toContain("token=");

    const media = await viewer.get(`/api/video/2/${rung}`);
    expect(media.status).toBe(200);
    const segmentUrl = (await media.text()).split("\n").find((line) => line.startsWith("http"))!;
    const segment = await fetch(segmentUrl);
    expect(segment.status).toBe(200);
    expect((await segment.arrayBuffer()).byteLength).toBe(
      installed.get(`${outputPrefixFor(2, 2)}/180p/seg_00000.ts`)!,
    );
  }, 60_000);

  test("a store that cannot be reached fails the run, naming the object", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const run = await migrate("--to", to(), { S3_ENDPOINT: closed, S3_PUBLIC_ENDPOINT: closed });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^failed: (sources|videos)\/\S+ \(video \d\): /m);
    expect(run.stdout).not.toContain("STORAGE_URL=");
  }, 60_000);

  test("a missing local file fails the run with its name, and nothing is copied", async () => {
    const missingSegment = `${outputPrefixFor(1, 1)}/144p/seg_00000.ts`;
    rmSync(local.localPath(missingSegment));
    rmSync(local.localPath(sourceKeys[2]!));
    const other = await testS3();
    try {
      const run = await migrate("--to", `s3://${other.bucket}/${INSTALL_PREFIX}`);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        `missing: ${missingSegment} (video 1, named by ${outputPrefixFor(1, 1)}/144p/index.m3u8)`,
      );
      expect(run.stderr).toContain(`missing: ${sourceKeys[2]} (video 3, the video's source)`);
      expect(run.stdout).not.toContain("STORAGE_URL=");
      const otherStorage = new S3MediaStorage({
        bucket: other.bucket,
        prefix: "",
        endpoint: other.endpoint,
        publicEndpoint: other.endpoint,
        region: other.region,
        accessKeyId: other.accessKeyId,
        secretAccessKey: other.secretAccessKey,
        forcePathStyle: true,
        scratchRoot: join(scratch, "s3-scratch"),
      });
      expect((await bucketObjects(otherStorage)).size).toBe(0);
    } finally {
      await other.drop();
    }
  }, 60_000);
});
