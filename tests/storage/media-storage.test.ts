// One suite, both drivers: the local file system and S3 (a real SeaweedFS, signed requests). Whatever
// the api and the transcoders ask of storage behaves the same on either.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signedBucketRequest } from "../../dev/s3-buckets.ts";
import { testS3 } from "../../dev/services.ts";
import { LocalMediaStorage, type MediaStorage, UploadTooLargeError } from "../../storage/index.ts";
import { s3StorageFor } from "../support/s3-storage.ts";

const scratch = mkdtempSync(join(tmpdir(), "vf-storage-suite-"));
let drop: (() => Promise<void>) | undefined;
let unfinishedUploads: () => Promise<string>;
const drivers: Array<[string, () => MediaStorage]> = [];
let local: MediaStorage;
let s3: MediaStorage;

beforeAll(async () => {
  local = new LocalMediaStorage(join(scratch, "media"));
  const bucket = await testS3();
  drop = bucket.drop;
  // ListMultipartUploads: what an aborted upload must not leave behind (parts are billed storage).
  unfinishedUploads = async () =>
    (await fetch(signedBucketRequest(bucket, "GET", bucket.bucket, "", new Date(), "uploads="))).text();
  s3 = s3StorageFor(bucket, "install-a/", scratch);
}, 60_000);
afterAll(async () => {
  await drop?.();
  rmSync(scratch, { recursive: true, force: true });
});

drivers.push(["local", () => local], ["s3", () => s3]);

async function* chunks(total: number, size = 64 * 1024, failAt?: number): AsyncIterable<Uint8Array> {
  for (let sent = 0; sent < total; sent += size) {
    if (failAt !== undefined && sent >= failAt) throw new Error("the client went away");
    const chunk = new Uint8Array(Math.min(size, total - sent));
    for (let i = 0; i < chunk.length; i++) chunk[i] = (sent + i) % 251;
    yield chunk;
  }
}

/** `chunks`, each freed (its buffer detached) as soon as the driver pulls the next: the tus store does so. */
async function* freedOnceConsumed(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for await (const chunk of body) {
    yield chunk;
    (chunk.buffer as ArrayBuffer).transfer(0);
  }
}

const keysUnder = async (storage: MediaStorage, prefix: string) => {
  const keys: string[] = [];
  for await (const object of storage.list(prefix)) keys.push(object.key);
  return keys;
};

describe.each(drivers)("%s driver", (_name, driver) => {
  test("a streamed put is stored whole, with its size; stat of a missing key is null", async () => {
    const storage = driver();
    const bytes = 12 * 1024 * 1024 + 17; // more than one multipart part
    expect(await storage.putStream("sources/a.mp4", chunks(bytes), { maxBytes: bytes })).toEqual({ bytes });
    expect((await storage.stat("sources/a.mp4"))?.size).toBe(bytes);
    expect(await storage.stat("sources/missing.mp4")).toBeNull();
    const copy = await storage.fetchToLocal("sources/a.mp4", join(scratch, `fetched-${_name}`));
    const content = readFileSync(copy);
    expect(content.length).toBe(bytes);
    expect(content[bytes - 1]).toBe((bytes - 1) % 251);
  }, 60_000);

  test("a chunk is written or copied before the next is pulled: freeing it then loses no byte", async () => {
    const storage = driver();
    const bytes = 12 * 1024 * 1024 + 17; // more than one multipart part
    const sent = freedOnceConsumed(chunks(bytes, 192 * 1024));
    expect(await storage.putStream("sources/freed.mp4", sent, { maxBytes: bytes })).toEqual({ bytes });
    const stored = readFileSync(
      await storage.fetchToLocal("sources/freed.mp4", join(scratch, `freed-${_name}`)),
    );
    expect(stored.equals(Buffer.concat(await Array.fromAsync(chunks(bytes, 192 * 1024))))).toBe(true);
    await storage.deletePrefix("sources/freed.mp4");
  }, 60_000);

  test("past maxBytes the upload stops with UploadTooLargeError and nothing is kept", async () => {
    const storage = driver();
    const refused = storage.putStream("sources/big.mp4", chunks(8 * 1024 * 1024), { maxBytes: 1024 * 1024 });
    expect(refused).rejects.toBeInstanceOf(UploadTooLargeError);
    await refused.catch(() => {});
    expect(await storage.stat("sources/big.mp4")).toBeNull();
  }, 30_000);

  test("an upload cut off midway leaves no object behind", async () => {
    const storage = driver();
    const cut = storage.putStream("sources/cut.mp4", chunks(16 * 1024 * 1024, 64 * 1024, 11 * 1024 * 1024), {
      maxBytes: 1 << 30,
    });
    expect(cut).rejects.toThrow("the client went away");
    await cut.catch(() => {});
    expect(await storage.stat("sources/cut.mp4")).toBeNull();
    if (_name === "s3") {
      const listing = await unfinishedUploads();
      expect(listing).toContain("ListMultipartUploadsResult");
      expect(listing).not.toContain("sources/cut.mp4");
      expect(listing).not.toContain("sources/big.mp4");
    }
  }, 30_000);

  test("a published directory appears under its prefix whole; the staging directory is gone", async () => {
    const storage = driver();
    const staging = await storage.createStagingDir("suite-job");
    mkdirSync(join(staging, "360p"), { recursive: true });
    writeFileSync(join(staging, "master.m3u8"), "#EXTM3U\n360p/index.m3u8\n");
    writeFileSync(join(staging, "360p/index.m3u8"), "#EXTM3U\nseg_00000.ts\n");
    writeFileSync(join(staging, "360p/seg_00000.ts"), new Uint8Array(188 * 100));
    await storage.publishDirectory(staging, "videos/7/r1");
    expect(await keysUnder(storage, "videos/7/")).toEqual([
      "videos/7/r1/360p/index.m3u8",
      "videos/7/r1/360p/seg_00000.ts",
      "videos/7/r1/master.m3u8",
    ]);
    expect(await storage.readText("videos/7/r1/master.m3u8")).toBe("#EXTM3U\n360p/index.m3u8\n");
    expect(await storage.readText("videos/7/r1/missing.m3u8")).toBeNull();
    expect(() => readFileSync(join(staging, "master.m3u8"))).toThrow();
  });

  test("deleting a prefix removes its tree and nothing beside it (videos/7 is not videos/70)", async () => {
    const storage = driver();
    for (const key of [
      "videos/70/r1/master.m3u8",
      "videos/7/r2/master.m3u8",
      "videos/7/r2/360p/index.m3u8",
    ]) {
      await storage.putStream(key, chunks(100), { maxBytes: 1000 });
    }
    await storage.deletePrefix("videos/7");
    expect(await keysUnder(storage, "videos/7/")).toEqual([]);
    expect(await keysUnder(storage, "videos/70/")).toEqual(["videos/70/r1/master.m3u8"]);
    await storage.deletePrefix("videos/does-not-exist");
  });

  test("delivery: the local driver hands out the file, object storage a presigned URL that serves ranges", async () => {
    const storage = driver();
    await storage.putStream("videos/9/r1/360p/seg_00001.ts", chunks(4096), { maxBytes: 1 << 20 });
    const delivery = await storage.deliver("videos/9/r1/360p/seg_00001.ts", 120);
    if (_name === "local") {
      expect(delivery?.kind).toBe("file");
      expect(storage.presign("videos/9/r1/360p/seg_00001.ts", 60)).toBeNull();
      return;
    }
    expect(delivery?.kind).toBe("url");
    const url = delivery?.kind === "url" ? delivery.url : "";
    expect(url).toContain("X-Amz-Signature=");
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect((await whole.arrayBuffer()).byteLength).toBe(4096);
    const range = await fetch(url, { headers: { range: "bytes=100-199" } });
    expect(range.status).toBe(206);
    const slice = new Uint8Array(await range.arrayBuffer());
    expect(slice.length).toBe(100);
    expect(slice[0]).toBe(100 % 251);
    // A tampered signature is refused by the store itself.
    const tampered = url.replace(
      /X-Amz-Signature=([0-9a-f])/,
      (_, c: string) => `X-Amz-Signature=${c === "0" ? "1" : "0"}`,
    );
    expect((await fetch(tampered)).status).toBe(403);
  });

  test("a delivery asked for longer than SigV4 allows (7 days) is signed for 7 days, and serves", async () => {
    const storage = driver();
    if (_name === "local") return;
    await storage.putStream("videos/9/r1/360p/long.mp4", chunks(2048), { maxBytes: 1 << 20 });
    const asked = 7 * 24 * 3600 + 300; // MEDIA_MP4_TOKEN_TTL=7d rounded up to its bucket
    const before = Math.floor(Date.now() / 1000);
    const delivery = await storage.deliver("videos/9/r1/360p/long.mp4", asked, { downloadAs: "long.mp4" });
    if (delivery?.kind !== "url") throw new Error(`expected a URL, got ${delivery?.kind}`);
    const url = new URL(delivery.url);
    expect(url.searchParams.get("X-Amz-Expires")).toBe("604800");
    expect(delivery.expiresAtSeconds).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 604_800);
    expect(delivery.expiresAtSeconds).toBeGreaterThanOrEqual(before + 604_800);
    expect((await fetch(url)).status).toBe(200);
    const segment = new URL(storage.presign("videos/9/r1/360p/long.mp4", asked)!);
    expect(segment.searchParams.get("X-Amz-Expires")).toBe("604800");
  });
});

describe("resumable uploads' primitives", () => {
  test.each(drivers)(
    "%s: readStream gives the object's bytes as stored",
    async (_name, driver) => {
      const storage = driver();
      const bytes = 3 * 1024 * 1024 + 5;
      await storage.putStream("sources/read-back.bin", chunks(bytes), { maxBytes: bytes });
      const read: Uint8Array[] = [];
      for await (const chunk of storage.readStream("sources/read-back.bin")) read.push(chunk);
      const whole = Buffer.concat(read);
      expect(whole.length).toBe(bytes);
      expect(whole[bytes - 1]).toBe((bytes - 1) % 251);
      await storage.deletePrefix("sources/read-back.bin");
    },
    60_000,
  );

  test("the local driver appends in place, all or nothing, at the offset it holds, and renames", async () => {
    const appendable = local.appendable!;
    expect(s3.appendable).toBeUndefined();
    expect(await appendable.append("uploads/u1/data", chunks(1000), { offset: 0, maxBytes: 5000 })).toBe(
      1000,
    );
    expect(await appendable.append("uploads/u1/data", chunks(500), { offset: 1000, maxBytes: 5000 })).toBe(
      1500,
    );
    // A body that fails half-way (a cut connection, a checksum mismatch) leaves the object as it was.
    const failing = appendable.append("uploads/u1/data", chunks(300_000, 64 * 1024, 128 * 1024), {
      offset: 1500,
      maxBytes: 500_000,
    });
    await expect(failing).rejects.toThrow("the client went away");
    expect((await local.stat("uploads/u1/data"))?.size).toBe(1500);
    await expect(
      appendable.append("uploads/u1/data", chunks(100), { offset: 1000, maxBytes: 5000 }),
    ).rejects.toThrow("holds 1500 bytes");
    await expect(
      appendable.append("uploads/u1/data", chunks(2000), { offset: 1500, maxBytes: 1000 }),
    ).rejects.toBeInstanceOf(UploadTooLargeError);
    expect((await local.stat("uploads/u1/data"))?.size).toBe(1500);
    // Done with each chunk before it pulls the next, as putStream is: the tus store frees them then.
    const freed = freedOnceConsumed(chunks(3 * 1024 * 1024, 192 * 1024));
    expect(await appendable.append("uploads/u2/data", freed, { offset: 0, maxBytes: 1 << 30 })).toBe(
      3 * 1024 * 1024,
    );
    const appended = readFileSync(join(scratch, "media", "uploads/u2/data"));
    expect(appended.equals(Buffer.concat(await Array.fromAsync(chunks(3 * 1024 * 1024, 192 * 1024))))).toBe(
      true,
    );
    await appendable.rename("uploads/u1/data", "sources/u1.mp4");
    expect((await local.stat("sources/u1.mp4"))?.size).toBe(1500);
    expect(await local.stat("uploads/u1/data")).toBeNull();
    await local.deletePrefix("sources/u1.mp4");
    await local.deletePrefix("uploads");
  }, 30_000);
});
