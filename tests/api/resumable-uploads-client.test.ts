// Two api replicas sharing one Redis lock (api/videos/uploads/locker.ts): one chunk sent to both at once
// is stored once. tus-js-client's uploads elsewhere: two replicas taking the chunks in turn behind the
// real edge in tests/e2e/edge-uploads-replicas.test.ts; the 1 GiB upload cut at 5 random offsets and
// across an api restart in resumable-uploads-gib.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ADMIN_ENV, adminClient } from "../support/admin.ts";
import { tinyMp4Bytes } from "../support/fixtures.ts";
import { type Client, startTestApi, type TestApi } from "../support/test-api.ts";
import { metadataHeader, patchHeaders, sourceOf, tusRequest } from "../support/tus.ts";

const MiB = 1024 * 1024;
const FILE_BYTES = 64 * MiB;
const CHUNK_BYTES = 8 * MiB;

let owner: TestApi;
let replica: TestApi;
let admin: Client;
let file: Uint8Array;

beforeAll(async () => {
  owner = await startTestApi({ ...ADMIN_ENV }, { consumeEvents: false });
  replica = await startTestApi({ ...ADMIN_ENV }, { consumeEvents: false, shareWith: owner });
  admin = await adminClient(owner);
  file = sourceOf(await tinyMp4Bytes(), FILE_BYTES);
}, 60_000);
afterAll(async () => {
  await replica?.stop();
  await owner?.stop();
});

describe("the Redis lock", () => {
  test("the same chunk sent to two replicas at once: one of them stores it, once", async () => {
    const created = await tusRequest(`${owner.url}/api/uploads/`, "POST", admin, {
      "upload-length": String(FILE_BYTES),
      "upload-metadata": metadataHeader({ title: "Raced", category: "Resumable" }),
    });
    const path = created.headers.get("location")!;
    const chunk = file.subarray(0, CHUNK_BYTES);
    const answers = await Promise.all(
      [owner, replica].map((api) => tusRequest(`${api.url}${path}`, "PATCH", admin, patchHeaders(0), chunk)),
    );
    expect(answers.filter((answer) => answer.status === 204)).toHaveLength(1);
    for (const api of [owner, replica]) {
      const head = await tusRequest(`${api.url}${path}`, "HEAD", admin);
      expect(head.headers.get("upload-offset")).toBe(String(CHUNK_BYTES));
    }
  }, 60_000);
});
