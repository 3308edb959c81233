// `bun run bench:websocket`: N authenticated WebSocket clients (default 10,000) on one api process; a
// "transcoder" publishes progress ticks on Redis as TranscodeReporter does; reports the latency from
// publish to each client (p50/p99/max; goal p99 < 100 ms) and the api process's memory per connection.
// Same-run baseline: a bare `Bun.serve` (infra/bench/ws-baseline.ts) taking the same ticks from Redis and
// publishing the same message to the same number of clients, in interleaved rounds (each round starts
// with the side the previous one ended with); goal: our p99 / the baseline's p99 ≤ 1.2.
//
// BENCH_CLIENTS (10000), BENCH_TICKS (40), BENCH_TICK_INTERVAL_MS (100), BENCH_ROUNDS (3 per side),
// BENCH_CLIENT_IMPL (go: infra/bench/ws-clients, one Go process; bun: infra/bench/ws-fleet.ts's --client
// mode in BENCH_CLIENT_PROCESSES Bun processes, CPU count 2–8), BENCH_PIN (1: both servers on CPU 0, the
// clients on the other CPUs; 0: no pinning).
// Each socket is a file descriptor on both sides: the npm script raises `ulimit -n` (soft limit, up
// to the hard one); raise the hard limit yourself for more than ~(hard limit - 500) clients.
import { availableParallelism } from "node:os";
import Redis from "ioredis";
import { PROGRESS_CHANNEL, type TranscodeProgress } from "../../contract/progress.ts";
import { BENCH_JWT_SECRET, startBenchApi } from "./bench-api.ts";
import { BASELINE_CHANNEL, startBaselineServer } from "./ws-baseline.ts";
import { adminCookies, buildGoFleet, bunFleets, CLIENT_CPUS, goFleet, PIN, pin } from "./ws-fleet.ts";

const GOAL_RATIO = 1.2;
const nowMs = () => performance.timeOrigin + performance.now();

const clients = Number(process.env.BENCH_CLIENTS ?? 10_000);
const processes = Math.max(
  1,
  Number(process.env.BENCH_CLIENT_PROCESSES ?? Math.min(8, Math.max(2, availableParallelism()))),
);
const ticks = Number(process.env.BENCH_TICKS ?? 40);
const intervalMs = Number(process.env.BENCH_TICK_INTERVAL_MS ?? 100);
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const clientImpl = process.env.BENCH_CLIENT_IMPL ?? "go";
if (clientImpl !== "go" && clientImpl !== "bun") throw new Error("BENCH_CLIENT_IMPL is go or bun");

/** One side of the comparison: where the clients connect and which channel feeds its ticks. */
interface Side {
  name: string;
  url: string;
  channel: string;
  server: Bun.Server<unknown>;
}

interface RoundResult {
  latencies: number[];
  open: number;
  refused: number;
  missing: number;
  lost: number;
  connectSeconds: number;
  kibPerConnection: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const figures = (sorted: number[]) =>
  `p50 ${percentile(sorted, 50).toFixed(1)}  p90 ${percentile(sorted, 90).toFixed(1)}  ` +
  `p99 ${percentile(sorted, 99).toFixed(1)}  max ${(sorted.at(-1) ?? Number.NaN).toFixed(1)} ms`;

pin(process.pid, "0");
if (clientImpl === "go") buildGoFleet();
const bench = await startBenchApi();
const { runtime, config } = bench;
runtime.app.listen({ hostname: "127.0.0.1", port: 0 });
const baseline = await startBaselineServer(config.redisUrl);
const sides: Side[] = [
  {
    name: "ours (api)",
    url: `ws://127.0.0.1:${runtime.app.server!.port}/api/ws`,
    channel: PROGRESS_CHANNEL,
    server: runtime.app.server! as Bun.Server<unknown>,
  },
  {
    name: "baseline (bare Bun.serve)",
    url: baseline.url,
    channel: BASELINE_CHANNEL,
    server: baseline.server,
  },
];
// The transcoder side: a plain Redis connection publishing TranscodeProgress as TranscodeReporter does.
const publisher = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
const cookies = clientImpl === "go" ? await adminCookies(BENCH_JWT_SECRET, 0, clients) : [];

console.log(
  `websocket bench: ${clients} clients (${clientImpl === "go" ? "one Go process" : `${processes} Bun processes`}), ` +
    `${ticks} ticks every ${intervalMs} ms, ${rounds} interleaved rounds per side; ` +
    (PIN ? `servers pinned to CPU 0, clients to CPU ${CLIENT_CPUS}` : "no CPU pinning"),
);

async function rssAfterGc(): Promise<number> {
  Bun.gc(true);
  await Bun.sleep(300);
  return process.memoryUsage().rss;
}

/** One round on one side: connect the fleet, publish the ticks, collect the arrivals, disconnect. */
async function runRound(side: Side, tickCount: number): Promise<RoundResult> {
  const rssBefore = await rssAfterGc();
  const started = performance.now();
  const fleets =
    clientImpl === "go"
      ? [await goFleet(side.url, cookies, tickCount)]
      : bunFleets(side.url, BENCH_JWT_SECRET, clients, processes, tickCount);
  const ready = await Promise.all(fleets.map((fleet) => fleet.ready));
  const connectSeconds = (performance.now() - started) / 1000;
  const open = ready.reduce((sum, r) => sum + r.open, 0);
  const refused = ready.reduce((sum, r) => sum + r.failed, 0);
  const rssAfter = await rssAfterGc();

  const sentAt = new Float64Array(tickCount + 1);
  for (let seq = 1; seq <= tickCount; seq++) {
    const tick: TranscodeProgress = {
      videoId: seq,
      revision: 1,
      stage: "encoding",
      percent: (seq / tickCount) * 100,
      rung: "all",
      speed: 3.5,
      etaSeconds: tickCount - seq,
    };
    const message = JSON.stringify(tick);
    sentAt[seq] = nowMs();
    await publisher.publish(side.channel, message);
    await Bun.sleep(intervalMs);
  }
  await Bun.sleep(1000);

  const latencies: number[] = [];
  let missing = 0;
  let lost = 0;
  for (const report of await Promise.all(fleets.map((fleet) => fleet.report()))) {
    lost += report.lost;
    for (const arrivals of report.arrivals) {
      for (let seq = 1; seq <= tickCount; seq++) {
        if (arrivals[seq]) latencies.push(arrivals[seq]! - sentAt[seq]!);
        else missing++;
      }
    }
  }
  await Promise.all(fleets.map((fleet) => fleet.stop()));
  // The next round starts from no sockets on either server.
  const deadline = Date.now() + 15_000;
  while (side.server.pendingWebSockets > 0 && Date.now() < deadline) await Bun.sleep(100);
  latencies.sort((a, b) => a - b);
  return {
    latencies,
    open,
    refused,
    missing,
    lost,
    connectSeconds,
    kibPerConnection: (rssAfter - rssBefore) / Math.max(open, 1) / 1024,
  };
}

/** The api's own share of a tick: one Bun topic publish to every socket (what the hub does), timed. */
async function serverFanOut(): Promise<number[]> {
  const fleets =
    clientImpl === "go"
      ? [await goFleet(sides[0]!.url, cookies, ticks)]
      : bunFleets(sides[0]!.url, BENCH_JWT_SECRET, clients, processes, ticks);
  await Promise.all(fleets.map((fleet) => fleet.ready));
  const probe = JSON.stringify({
    type: "video.progress",
    id: 0,
    revision: 1,
    state: "processing",
    percent: 1,
    stage: "encoding",
    eta_seconds: 1,
  });
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    runtime.app.server!.publish("admin:uploads", probe);
    times.push(performance.now() - t0);
    await Bun.sleep(intervalMs);
  }
  await Promise.all(fleets.map((fleet) => fleet.stop()));
  const deadline = Date.now() + 15_000;
  while (runtime.app.server!.pendingWebSockets > 0 && Date.now() < deadline) await Bun.sleep(100);
  return times.sort((a, b) => a - b);
}

// Warm-up: one short untimed round per side, so neither is measured with a cold JIT or cold pools.
for (const side of sides) await runRound(side, Math.min(5, ticks));
const results = new Map<Side, RoundResult[]>(sides.map((side) => [side, []]));
for (let round = 1; round <= rounds; round++) {
  // ABBA order: whoever ran last in a round runs first in the next, so neither side always follows the other.
  const order = round % 2 === 1 ? sides : [...sides].reverse();
  for (const side of order) {
    const result = await runRound(side, ticks);
    results.get(side)!.push(result);
    console.log(
      `  round ${round} ${side.name.padEnd(26)} ${figures(result.latencies)}   ` +
        `${result.open} open, ${result.refused} refused in ${result.connectSeconds.toFixed(1)} s, ` +
        `${result.missing} missing, ${result.lost} lost, ${result.kibPerConnection.toFixed(1)} KiB/connection`,
    );
  }
}
const fanOut = await serverFanOut();

const pooled = new Map(
  sides.map((side) => [
    side,
    results
      .get(side)!
      .flatMap((r) => r.latencies)
      .sort((a, b) => a - b),
  ]),
);
console.log(`\nprogress tick → client latency, all rounds pooled`);
for (const side of sides) {
  const all = pooled.get(side)!;
  const missing = results.get(side)!.reduce((sum, r) => sum + r.missing, 0);
  const lost = results.get(side)!.reduce((sum, r) => sum + r.lost, 0);
  console.log(
    `  ${side.name.padEnd(26)} ${figures(all)}   ${all.length} deliveries, ${missing} missing, ${lost} sockets lost`,
  );
}
const ours = percentile(pooled.get(sides[0]!)!, 99);
const bare = percentile(pooled.get(sides[1]!)!, 99);
const ratio = ours / bare;
console.log(`  our p99 ${ours.toFixed(1)} ms (goal < 100): ${ours < 100 ? "met" : "NOT met"}`);
console.log(
  `  our p99 / baseline p99 = ${ours.toFixed(1)} / ${bare.toFixed(1)} = ${ratio.toFixed(2)} — goal ≤ ${GOAL_RATIO}: ${ratio <= GOAL_RATIO ? "met" : "NOT met"}`,
);
console.log(
  `server-side fan-out (one server.publish to ${clients} api sockets): median ${fanOut[10]!.toFixed(2)} ms, max ${fanOut.at(-1)!.toFixed(2)} ms`,
);
const perConnection = results.get(sides[0]!)!.map((r) => r.kibPerConnection.toFixed(1));
console.log(
  `api process memory per connection (RSS delta / open sockets, per round): ${perConnection.join(", ")} KiB`,
);

publisher.disconnect();
await baseline.stop();
await bench.stop();
process.exit(0);
