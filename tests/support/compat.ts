// What the dialect tests (tests/api/compat-*.test.ts) set up before their calls: the api started
// with a dialect's env, and the catalogue rows a transcoder's publish would have left (no FFmpeg).
import { expect } from "bun:test";
import { categories, videos } from "../../db/schema/index.ts";
import { ADMIN_ENV } from "./admin.ts";
import { fabricatedResult } from "./fixtures.ts";
import { Client, startTestApi, type TestApi } from "./test-api.ts";

/** The api's public URL in the contract tests: the links of their mails name it. */
export const COMPAT_PUBLIC_URL = "http://api.videoflix.test";

export type CatalogueVideo = typeof videos.$inferSelect;

/**
 * The api with these dialects enabled; no event consumer, as no transcoder answers here. The configured
 * admin exists, to deactivate accounts as an admin does (setAccountActive).
 */
export function startCompatApi(env: Record<string, string>): Promise<TestApi> {
  return startTestApi({ ...ADMIN_ENV, ...env }, { consumeEvents: false });
}

/** A video as the catalogue lists it once a transcoder published it. */
export async function publishedVideo(
  api: TestApi,
  title: string,
  categoryId: number,
  durationSeconds = 120,
): Promise<CatalogueVideo> {
  const result = fabricatedResult(durationSeconds);
  const [video] = await api.database.db
    .insert(videos)
    .values({
      title,
      description: `About ${title}`,
      categoryId,
      sourceKey: `sources/${crypto.randomUUID()}`,
      sourceBytes: 1000,
      processingState: "ready",
      revision: 1,
      publishedRevision: 1,
      publishedPrefix: "videos/x/r1",
      durationSeconds,
      renditions: result.renditions,
      posters: result.posters,
    })
    .returning();
  return video!;
}

/** A category holding published videos of these titles (in this order) and one never published. */
export async function seedCatalogue(
  api: TestApi,
  categoryName: string,
  titles: string[],
): Promise<{ category: { id: number; name: string }; listed: CatalogueVideo[] }> {
  const [category] = await api.database.db.insert(categories).values({ name: categoryName }).returning();
  const listed: CatalogueVideo[] = [];
  for (const title of titles) listed.push(await publishedVideo(api, title, category!.id));
  // Never published: never listed.
  await api.database.db.insert(videos).values({
    title: "Pending",
    categoryId: category!.id,
    sourceKey: `sources/${crypto.randomUUID()}`,
    sourceBytes: 1000,
  });
  return { category: category!, listed };
}

/** The one ready video a journey lists, favourites and plays, in a category of its own. */
export async function journeyVideo(api: TestApi, categoryName: string): Promise<number> {
  const [category] = await api.database.db.insert(categories).values({ name: categoryName }).returning();
  const result = fabricatedResult(300);
  const [video] = await api.database.db
    .insert(videos)
    .values({
      title: "The journey",
      categoryId: category!.id,
      sourceKey: `sources/${crypto.randomUUID()}`,
      sourceBytes: 1000,
      processingState: "ready",
      publishedRevision: 1,
      // As a ready video has it: its ladder's tree (the dialects list only videos whose ladder is out).
      publishedPrefix: "videos/journey/r1",
      durationSeconds: 300,
      renditions: result.renditions,
      posters: result.posters,
    })
    .returning();
  return video!.id;
}

/**
 * Signs the user in on the course's own client and ends, from its session list, the one other
 * session: the dialect's. The course client, still signed in, for what the test asks of it next.
 */
export async function endDialectSessionFromCourse(
  api: TestApi,
  email: string,
  password: string,
): Promise<Client> {
  const course = new Client(api.url);
  expect((await course.post("/api/login/", { email, password })).status).toBe(200);
  const sessions = (await (await course.get("/api/sessions/")).json()) as Array<{
    id: string;
    current: boolean;
  }>;
  expect(sessions).toHaveLength(2);
  const dialectSession = sessions.find((session) => !session.current)!;
  expect((await course.request("DELETE", `/api/sessions/${dialectSession.id}`)).status).toBe(204);
  return course;
}
