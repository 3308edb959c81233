// Two deployments on one Redis server, each on its own logical database (REDIS_URL …/1 and …/2), as
// `npm run up` with a REDIS_URL or a shared staging Redis runs them. Keys are per database, but Redis
// pub/sub is server-wide: without database-scoped channel names one deployment's session revocation
// logged the other's user of the same id out, and its transcoders' progress ticks reached the other's
// viewers. Each deployment here has its own PostgreSQL database, so both have a user 2.
import { afterAll, beforeAll, expect, test } from "bun:test";
import Redis from "ioredis";
import { progressChannel, type TranscodeProgress } from "../../contract/progress.ts";
import { testRedisUrl } from "../../dev/services.ts";
import { TranscodeReporter } from "../../transcoder/reporter.ts";
import { ADMIN_ENV, adminClient } from "../support/admin.ts";
import { eventually } from "../support/eventually.ts";
import { type Client, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";

let first: TestApi;
let second: TestApi;

/** Two databases of one server: a throwaway server's 1 and 2, or two of the shared TEST_REDIS_URL's. */
async function twoDatabasesOfOneServer(): Promise<[string, string]> {
  const a = new URL(await testRedisUrl());
  if (a.pathname.length > 1) return [a.toString(), await testRedisUrl()];
  const b = new URL(a);
  a.pathname = "/1";
  b.pathname = "/2";
  return [a.toString(), b.toString()];
}

beforeAll(async () => {
  const [urlA, urlB] = await twoDatabasesOfOneServer();
  expect(new URL(urlA).host).toBe(new URL(urlB).host);
  [first, second] = await Promise.all([
    startTestApi({ ...ADMIN_ENV, REDIS_URL: urlA }),
    startTestApi({ ...ADMIN_ENV, REDIS_URL: urlB }),
  ]);
});

afterAll(async () => {
  await Promise.all([first?.stop(), second?.stop()]);
});

async function signedIn(api: TestApi): Promise<{ client: Client; userId: number }> {
  const client = await loggedInClient(api);
  // Verified once, so that the check below meets the cache a heard revocation would have marked.
  const me = await client.get("/api/me/");
  expect(me.status).toBe(200);
  return { client, userId: ((await me.json()) as { id: number }).id };
}

test("revoking a user's sessions in one deployment leaves the other deployment's user of that id signed in", async () => {
  const [here, there] = await Promise.all([signedIn(first), signedIn(second)]);
  expect(here.userId).toBe(there.userId);
  const admin = await adminClient(first);
  expect((await admin.request("DELETE", `/api/admin/users/${here.userId}/sessions`)).status).toBe(204);
  expect((await here.client.get("/api/me/")).status).toBe(401);
  // The revocation's announcement reaches a replica within milliseconds; give a stray one ample time.
  await Bun.sleep(500);
  expect((await there.client.get("/api/me/")).status).toBe(200);
});

test("a transcoder's progress tick reaches its own deployment's api only", async () => {
  const heard = { first: [] as number[], second: [] as number[] };
  const stopFirst = first.runtime.bus.on(progressChannel, (tick) => heard.first.push(tick.videoId));
  const stopSecond = second.runtime.bus.on(progressChannel, (tick) => heard.second.push(tick.videoId));
  await Promise.all([first.runtime.bus.ready(), second.runtime.bus.ready()]);
  const connection = new Redis(first.config.redisUrl as string, { maxRetriesPerRequest: null });
  const reporter = new TranscodeReporter(connection, connection);
  try {
    const tick: TranscodeProgress = {
      videoId: 4242,
      revision: 1,
      attempt: 1,
      stage: "encoding",
      percent: 12.5,
      etaSeconds: 30,
    };
    await reporter.progress(tick);
    await eventually("the tick heard by its own api", async () => (heard.first.length > 0 ? true : null));
    await Bun.sleep(300);
    expect(heard.first).toEqual([4242]);
    expect(heard.second).toEqual([]);
  } finally {
    stopFirst();
    stopSecond();
    await reporter.close();
    connection.disconnect();
  }
});
