// The tests' S3 server (dev/seaweedfs.ts through testS3 in dev/services.ts): a real SeaweedFS with
// signed requests. What the media storage driver relies on: put, get, ranged get, list by prefix,
// delete, presigned GETs a plain fetch can follow, and refusal of a request signed with the wrong secret.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { S3Client } from "bun";
import { bucketClient, createBucket } from "../../dev/s3-buckets.ts";
import { testS3 } from "../../dev/services.ts";

let s3: Awaited<ReturnType<typeof testS3>>;
let client: S3Client;

// SeaweedFS takes ~5 s to start here, more on a cold page cache: more than bun's 5 s default, and a
// timed-out hook's children are killed, the shared server with them.
beforeAll(async () => {
  s3 = await testS3();
  client = bucketClient(s3, s3.bucket);
}, 60_000);
afterAll(async () => {
  await s3?.drop();
});

describe("testS3", () => {
  test("names a fresh bucket and the settings that point the storage driver at it", () => {
    expect(s3.url).toBe(`s3://${s3.bucket}`);
    expect(s3.env).toEqual({
      STORAGE_URL: s3.url,
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: "us-east-1",
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_FORCE_PATH_STYLE: "true",
      S3_PUBLIC_ENDPOINT: s3.endpoint,
    });
  });

  test("put, get, ranged get, stat and delete an object", async () => {
    const body = "0123456789".repeat(100);
    await client.write("videos/1/r1/360p/seg_00000.ts", body, { type: "video/mp2t" });
    const file = client.file("videos/1/r1/360p/seg_00000.ts");
    expect(await file.text()).toBe(body);
    expect(await file.slice(10, 20).text()).toBe("0123456789");
    const stat = await file.stat();
    expect(stat.size).toBe(1000);
    expect(stat.type).toBe("video/mp2t");
    await file.delete();
    expect(await file.exists()).toBe(false);
  });

  test("lists by prefix, with the keys of other prefixes left out", async () => {
    await Promise.all(
      ["videos/2/r1/master.m3u8", "videos/2/r1/360p/index.m3u8", "videos/20/r1/master.m3u8"].map((key) =>
        client.write(key, key),
      ),
    );
    const listed = await client.list({ prefix: "videos/2/" });
    expect((listed.contents ?? []).map((object) => object.key).sort()).toEqual([
      "videos/2/r1/360p/index.m3u8",
      "videos/2/r1/master.m3u8",
    ]);
  });

  test("a presigned GET works with a plain fetch, ranges included, and covers its key only", async () => {
    await client.write("videos/3/r1/master.m3u8", "#EXTM3U\n");
    const url = client.presign("videos/3/r1/master.m3u8", { expiresIn: 60 });
    expect(url.startsWith(s3.endpoint)).toBe(true);
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(await whole.text()).toBe("#EXTM3U\n");
    const ranged = await fetch(url, { headers: { range: "bytes=1-3" } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("content-range")).toBe("bytes 1-3/8");
    expect(await ranged.text()).toBe("EXT");
    const tampered = new URL(url);
    tampered.pathname = tampered.pathname.replace("master.m3u8", "other.m3u8");
    expect((await fetch(tampered)).status).toBe(403);
  });

  test("a request signed with the wrong secret is refused, as is an unsigned one", async () => {
    await client.write("private.txt", "secret");
    const forged = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      bucket: s3.bucket,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: `${s3.secretAccessKey.slice(0, -4)}XXXX`,
    });
    await expect(forged.file("private.txt").text()).rejects.toMatchObject({ code: "SignatureDoesNotMatch" });
    await expect(forged.write("forged.txt", "x")).rejects.toMatchObject({ code: "SignatureDoesNotMatch" });
    expect((await fetch(`${s3.endpoint}/${s3.bucket}/private.txt`)).status).toBe(403);
    await expect(createBucket({ ...s3, secretAccessKey: "wrong-secret" }, `${s3.bucket}-x`)).rejects.toThrow(
      /403/,
    );
    expect(await client.file("forged.txt").exists()).toBe(false);
  });

  test("a bucket that was never created is not made by a write", async () => {
    const missing = bucketClient(s3, `${s3.bucket}-missing`);
    await expect(missing.write("a.txt", "x")).rejects.toMatchObject({ code: "NoSuchBucket" });
  });
});
