// The baseline of `bench:websocket` (infra/bench/ws-baseline.ts) must send what the api sends: for the
// same tick on Redis, a client of the bare Bun.serve and an admin client of the real api receive the same
// bytes, after the same welcome → subscribe → subscribed exchange the bench's client fleet performs.
import { afterAll, beforeAll, expect, test } from "bun:test";
import Redis from "ioredis";
import { PROGRESS_CHANNEL, type TranscodeProgress } from "../../contract/progress.ts";
import { BASELINE_CHANNEL, type BaselineServer, startBaselineServer } from "../../infra/bench/ws-baseline.ts";
import { adminCookies } from "../../infra/bench/ws-fleet.ts";
import { startTestApi, TEST_JWT_SECRET, type TestApi } from "../support/test-api.ts";

let api: TestApi;
let baseline: BaselineServer;
let publisher: Redis;

beforeAll(async () => {
  api = await startTestApi();
  baseline = await startBaselineServer(api.config.redisUrl);
  publisher = new Redis(api.config.redisUrl, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  publisher?.disconnect();
  await baseline?.stop();
  await api?.stop();
});

/** A client as the bench's fleet is one: subscribes to all uploads once welcomed, then collects ticks. */
async function subscribedClient(url: string, cookie: string) {
  const progress: string[] = [];
  const ws = new WebSocket(url, { headers: { cookie } } as never);
  await new Promise<void>((resolve, reject) => {
    ws.onmessage = (event) => {
      const text = String(event.data);
      if (text.includes('"welcome"')) ws.send(JSON.stringify({ type: "subscribe", all_uploads: true }));
      else if (text.includes('"subscribed"')) resolve();
      else if (text.startsWith('{"type":"video.progress"')) progress.push(text);
    };
    ws.onclose = (event) => reject(new Error(`closed ${event.code} ${event.reason}`));
  });
  const next = async () => {
    const deadline = Date.now() + 10_000;
    while (progress.length === 0 && Date.now() < deadline) await Bun.sleep(10);
    return progress.shift();
  };
  return { next, close: () => ws.close() };
}

test("the bare Bun.serve baseline sends the api's progress message, byte for byte", async () => {
  const [cookie] = await adminCookies(TEST_JWT_SECRET, 0, 1);
  const ours = await subscribedClient(`${api.url.replace("http", "ws")}/api/ws`, cookie!);
  const bare = await subscribedClient(baseline.url, cookie!);
  const ticks: TranscodeProgress[] = [
    { videoId: 7, revision: 2, stage: "encoding", percent: 33.333, rung: "all", speed: 3.5, etaSeconds: 12 },
    { videoId: 8, revision: 1, stage: "verifying", percent: 99.96, etaSeconds: null, at: 1_700_000_000_123 },
  ];
  try {
    for (const tick of ticks) {
      await publisher.publish(PROGRESS_CHANNEL, JSON.stringify(tick));
      await publisher.publish(BASELINE_CHANNEL, JSON.stringify(tick));
      const [fromApi, fromBaseline] = await Promise.all([ours.next(), bare.next()]);
      expect(fromApi).toBeDefined();
      expect(fromBaseline).toBe(fromApi!);
    }
  } finally {
    ours.close();
    bare.close();
  }
});
