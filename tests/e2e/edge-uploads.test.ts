// Resumable uploads through the nginx edge (infra/nginx): tus PATCH bodies of 8 MiB pass unbuffered to
// the api (no body-size cap of nginx's own in the way), a browser's preflight gets the tus headers, and
// the video comes out once with the bytes sent.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { videos } from "../../db/schema/index.ts";
import { freePort } from "../../dev/services.ts";
import { type RunningEdge, startEdge } from "../../infra/nginx/edge.ts";
import { ADMIN_ENV, adminClient, sessionHeaders } from "../support/admin.ts";
import { tinyMp4Bytes } from "../support/fixtures.ts";
import { type Client, startTestApi, type TestApi } from "../support/test-api.ts";
import { sha256Hex, sourceOf, tusClientUpload } from "../support/tus.ts";

const ORIGIN = "http://frontend.test";
const MEDIA_TOKEN_SECRET = "edge-uploads-media-secret-0123456789abcdef";
const MiB = 1024 * 1024;

let api: TestApi;
let admin: Client;
let edge: RunningEdge;

beforeAll(async () => {
  api = await startTestApi({ ...ADMIN_ENV, MEDIA_TOKEN_SECRET }, { consumeEvents: false });
  admin = await adminClient(api);
  edge = await startEdge({
    port: await freePort(),
    apiUpstream: new URL(api.url).host,
    mediaRoot: api.config.mediaRoot,
    mediaTokenSecret: MEDIA_TOKEN_SECRET,
    sharedMaxAgeSeconds: api.config.mediaTokenTtlSeconds,
    corsOrigins: [ORIGIN],
  });
}, 60_000);
afterAll(async () => {
  await edge?.stop();
  await api?.stop();
});

test("a browser's preflight for a tus PATCH is answered with the tus headers allowed", async () => {
  const response = await fetch(`${edge.url}/api/uploads/${"a".repeat(32)}`, {
    method: "OPTIONS",
    headers: {
      origin: ORIGIN,
      "access-control-request-method": "PATCH",
      "access-control-request-headers": "tus-resumable,upload-offset,content-type,x-csrftoken",
    },
  });
  expect(response.status).toBe(204);
  expect(response.headers.get("access-control-allow-origin")).toBe(ORIGIN);
  const allowed = response.headers.get("access-control-allow-headers")!.toLowerCase();
  for (const header of ["tus-resumable", "upload-offset", "x-csrftoken"]) expect(allowed).toContain(header);
  expect(response.headers.get("tus-version")).toBe("1.0.0");
}, 30_000);

test("24 MiB in 8 MiB chunks through the edge: one video, the same bytes", async () => {
  const file = sourceOf(await tinyMp4Bytes(), 24 * MiB);
  const { url } = await tusClientUpload(file, {
    endpoint: `${edge.url}/api/uploads/`,
    chunkSize: 8 * MiB,
    headers: sessionHeaders(admin),
    metadata: { title: "Through the edge", category: "Edge", filename: "film.mp4" },
  });
  expect(url.startsWith(edge.url)).toBe(true);
  const rows = await api.database.db.select().from(videos).where(eq(videos.title, "Through the edge"));
  expect(rows).toHaveLength(1);
  const source = await Bun.file(join(api.config.mediaRoot, rows[0]!.sourceKey)).bytes();
  expect(sha256Hex(source)).toBe(sha256Hex(file));
}, 120_000);
