// The tus store on object storage (a real SeaweedFS): a PATCH body that breaks off keeps what arrived
// as a part (no S3 minimum applies: each part is an object of its own, streamed into the source at the
// end), a checksummed one keeps nothing, and a finishing taken up again reuses the recorded source key.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { Upload } from "@tus/server";
import { chunkChecksum, StorageUploadStore } from "../../api/videos/uploads/store.ts";
import { testS3 } from "../../dev/services.ts";
import type { MediaStorage } from "../../storage/index.ts";
import { tinyMp4Bytes } from "../support/fixtures.ts";
import { s3StorageFor } from "../support/s3-storage.ts";
import { sha256Hex, sourceOf } from "../support/tus.ts";

const MiB = 1024 * 1024;
const scratch = mkdtempSync(join(tmpdir(), "vf-tus-s3-"));
let drop: (() => Promise<void>) | undefined;
let storage: MediaStorage;
let store: StorageUploadStore;
let file: Uint8Array;

beforeAll(async () => {
  const bucket = await testS3();
  drop = bucket.drop;
  storage = s3StorageFor(bucket, "tus/", scratch);
  store = new StorageUploadStore({
    storage,
    clock: { now: () => new Date() },
    expirySeconds: 3600,
    onRefused: async () => {},
  });
  file = sourceOf(await tinyMp4Bytes(), 3 * MiB);
}, 60_000);
afterAll(async () => {
  await drop?.();
  rmSync(scratch, { recursive: true, force: true });
});

/** A request body of `bytes` in 64 KiB chunks that breaks off (its connection cut) after `cutAt`. */
function body(bytes: Uint8Array, cutAt = Number.POSITIVE_INFINITY): Readable {
  async function* chunks() {
    for (let sent = 0; sent < bytes.byteLength; sent += 64 * 1024) {
      if (sent >= cutAt) throw new Error("connection reset by peer");
      yield Buffer.from(bytes.subarray(sent, Math.min(sent + 64 * 1024, bytes.byteLength)));
    }
  }
  return Readable.from(chunks());
}

async function created(): Promise<string> {
  const id = crypto.randomUUID().replaceAll("-", "");
  await store.create(new Upload({ id, size: file.byteLength, offset: 0, metadata: { filename: "f.mp4" } }));
  return id;
}

describe("S3: a PATCH cut short", () => {
  test("keeps what arrived as a part; the upload resumes from there and its source is the file", async () => {
    const id = await created();
    const cutAt = 1 * MiB + 128 * 1024;
    await expect(store.write(body(file, cutAt), id, 0)).rejects.toThrow("connection reset");
    const offset = (await store.getUpload(id)).offset;
    expect(offset).toBe(cutAt);
    expect(await store.write(body(file.subarray(offset)), id, offset)).toBe(file.byteLength);
    const { key, bytes } = await store.assemble(id, `sources/${id}.mp4`);
    expect(bytes).toBe(file.byteLength);
    const chunks: Uint8Array[] = [];
    for await (const chunk of storage.readStream(key)) chunks.push(chunk);
    expect(sha256Hex(Buffer.concat(chunks))).toBe(sha256Hex(file));
    // A finishing taken up again (its api killed before the video committed) keeps the recorded key.
    expect((await store.assemble(id, `sources/${id}-second.mp4`)).key).toBe(key);
    expect(await storage.stat(`sources/${id}-second.mp4`)).toBeNull();
    expect((await store.getUpload(id)).offset).toBe(file.byteLength);
  }, 60_000);

  test("with an Upload-Checksum nothing of the broken body is kept (it cannot be checked)", async () => {
    const id = await created();
    const checksum = { algorithm: "sha256" as const, digest: createHash("sha256").update(file).digest() };
    await expect(chunkChecksum.run(checksum, () => store.write(body(file, 1 * MiB), id, 0))).rejects.toThrow(
      "connection reset",
    );
    expect((await store.getUpload(id)).offset).toBe(0);
  }, 60_000);
});
