import { afterAll, beforeAll, expect, test } from "bun:test";
import Redis from "ioredis";
import pino from "pino";
import { videoChanges } from "../../contract/video-changes.ts";
import { testRedisUrl } from "../../dev/services.ts";
import { EventBus } from "../shared/event-bus.ts";
import { CatalogueCache } from "./cache.ts";

const log = pino({ level: "silent" });
let url: string;
let publisher: Redis;
const subscribers: Redis[] = [];

beforeAll(async () => {
  url = await testRedisUrl();
  publisher = new Redis(url);
});
afterAll(() => {
  publisher?.disconnect();
  for (const subscriber of subscribers) subscriber.disconnect();
});

async function listeningCache(ttlMs = 60_000): Promise<CatalogueCache> {
  const subscriber = new Redis(url, { maxRetriesPerRequest: null });
  subscribers.push(subscriber);
  const cache = new CatalogueCache(ttlMs);
  // A PONG slower than the api's 250 ms (a loaded machine: two concurrent misses once loaded twice)
  // would make a read uncached; these tests are about what the cache does once caught up.
  const bus = new EventBus({ subscriber, publisher, log, catchUpTimeoutMs: 10_000 });
  cache.listen(bus);
  await bus.ready();
  if (!(await bus.caughtUp(videoChanges))) throw new Error("the cache's subscription never came up");
  return cache;
}

/** A loader that counts its calls and answers the current value of `source`. */
function counter(source: { value: number }) {
  const loader = async () => {
    loader.calls++;
    return source.value;
  };
  loader.calls = 0;
  return loader;
}

test("without a subscription nothing is cached", async () => {
  const cache = new CatalogueCache(60_000);
  const source = { value: 1 };
  const load = counter(source);
  expect(await cache.get("k", load)).toBe(1);
  source.value = 2;
  expect(await cache.get("k", load)).toBe(2);
  expect(load.calls).toBe(2);
});

test("answers are reused until any vf:video-state message, which is applied before the next read", async () => {
  const cache = await listeningCache();
  const source = { value: 1 };
  const load = counter(source);
  expect(await cache.get("k", load)).toBe(1);
  source.value = 2;
  expect(await cache.get("k", load)).toBe(1);
  expect(load.calls).toBe(1);
  await publisher.publish(videoChanges.nameOn(publisher), JSON.stringify({ type: "video.updated", id: 1 }));
  // No wait: the read's PING comes back after the message.
  expect(await cache.get("k", load)).toBe(2);
  expect(load.calls).toBe(2);
});

test("a load in flight when a message arrives is not kept; concurrent misses share one load", async () => {
  const cache = await listeningCache();
  let release: (value: number) => void = () => {};
  let calls = 0;
  const slow = () => {
    calls++;
    return new Promise<number>((resolve) => {
      release = resolve;
    });
  };
  const first = cache.get("k", slow);
  const second = cache.get("k", slow);
  await Bun.sleep(20);
  expect(calls).toBe(1);
  await publisher.publish(videoChanges.nameOn(publisher), JSON.stringify({ type: "video.deleted", id: 1 }));
  await Bun.sleep(20);
  release(1);
  expect(await Promise.all([first, second])).toEqual([1, 1]);
  expect(await cache.get("k", async () => 2)).toBe(2);
});

test("entries expire after the TTL, failed loads are not kept, and the size is capped", async () => {
  const cache = await listeningCache(30);
  const source = { value: 1 };
  const load = counter(source);
  await cache.get("k", load);
  source.value = 2;
  await Bun.sleep(40);
  expect(await cache.get("k", load)).toBe(2);

  await expect(cache.get("bad", () => Promise.reject(new Error("db down")))).rejects.toThrow("db down");
  expect(await cache.get("bad", async () => "ok")).toBe("ok");

  const capped = await listeningCache();
  for (let i = 0; i < 1100; i++) await capped.get(`q${i}`, async () => i);
  expect(capped.size).toBe(1000);
});
