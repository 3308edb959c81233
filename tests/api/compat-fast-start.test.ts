// A video playable only through its fast-start rendition (one HLS rung, no MP4) while its ladder is
// made: the course client's list (`GET /api/video/`, hls.js) shows it, none of the three dialects'
// lists does (their frontends play progressive MP4 only).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { fastStartPrefixFor } from "../../contract/media.ts";
import { videos } from "../../db/schema/index.ts";
import { AUTHEMAIL_ENV, authemailUser } from "../support/authemail.ts";
import { type CatalogueVideo, COMPAT_PUBLIC_URL, seedCatalogue, startCompatApi } from "../support/compat.ts";
import { CONTENT_ENV, contentUser } from "../support/content.ts";
import { DJOSER_ENV, djoserUser } from "../support/djoser.ts";
import { type Client, loggedInClient, type TestApi } from "../support/test-api.ts";

let api: TestApi;
let ready: CatalogueVideo;
let fastOnly: CatalogueVideo;
let course: Client;
/** Each dialect's list as its frontend fetches it: the ids, in order. */
let dialectLists: Record<string, () => Promise<number[]>>;

const idsOf = async (response: Response) => {
  expect(response.status).toBe(200);
  return ((await response.json()) as Array<{ id: number }>).map((entry) => entry.id);
};

beforeAll(async () => {
  api = await startCompatApi({
    ...DJOSER_ENV,
    ...AUTHEMAIL_ENV,
    ...CONTENT_ENV,
    COMPAT_DIALECTS: "djoser,authemail,content",
    CORS_ORIGINS: [DJOSER_ENV, AUTHEMAIL_ENV, CONTENT_ENV].map((env) => env.CORS_ORIGINS).join(","),
    PUBLIC_URL: COMPAT_PUBLIC_URL,
  });
  const { listed } = await seedCatalogue(api, "Documentary", ["Whole ladder", "Fast start only"]);
  [ready, fastOnly] = listed as [CatalogueVideo, CatalogueVideo];
  // What a `playable` report leaves: processing, the fast-start tree published, its one rung.
  await api.database.db
    .update(videos)
    .set({
      processingState: "processing",
      publishedPrefix: fastStartPrefixFor(fastOnly.id, 1),
      renditions: [
        {
          name: "360p",
          width: 640,
          height: 360,
          bandwidth: 900_000,
          averageBandwidth: 700_000,
          codecs: "avc1.64001e,mp4a.40.2",
          frameRate: 30,
        },
      ],
      posters: [],
      playableAt: new Date(),
      readyAt: null,
    })
    .where(eq(videos.id, fastOnly.id));
  const [djoser, authemail, content] = await Promise.all([
    djoserUser(api),
    authemailUser(api),
    contentUser(api),
  ]);
  course = await loggedInClient(api);
  dialectLists = {
    djoser: async () => idsOf(await djoser.client.get("/videos/")),
    authemail: async () => idsOf(await authemail.client.get("/videos/")),
    content: async () => idsOf(await content.client.get("/content/")),
  };
}, 60_000);
afterAll(() => api?.stop());

describe("a fast-start-only video", () => {
  test("is in the course client's list", async () => {
    expect(await idsOf(await course.get("/api/video/"))).toEqual(
      expect.arrayContaining([ready.id, fastOnly.id]),
    );
  });

  for (const dialect of ["djoser", "authemail", "content"]) {
    test(`is not in the ${dialect} dialect's list; the video with its ladder is`, async () => {
      const ids = await dialectLists[dialect]!();
      expect(ids).toContain(ready.id);
      expect(ids).not.toContain(fastOnly.id);
    });
  }
});
