// `bun run bench:heartbeats`: watch-progress heartbeats accepted per second, at the service level
// (WatchProgressService.record, what the WebSocket handler calls) and over HTTP (wrk, PUT with a
// session cookie per user) against the real api, many users × videos. Reports the flusher's batch
// sizes and durations and checks that PostgreSQL got exactly one write per user-video per flush
// (pg_stat_user_tables n_tup_ins + n_tup_upd of watch_progress against the flushes' entries).
// Goal: ≥ 10,000 accepted heartbeats/s, and ≥ 0.9 × the same-run baseline: an empty authenticated PUT
// (session check, CSRF, JSON body validation, 204) on the same app, warmed like the heartbeat routes and
// measured in the same interleaved rounds (each round starts with the next variant), so neither side is
// measured cold or always at the same moment of a round.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { t } from "elysia";
import pino from "pino";
import postgres from "postgres";
import { AccessTokens } from "../../api/auth/session.ts";
import { type FlushStats, ProgressFlusher } from "../../api/progress/flusher.ts";
import { WatchProgressService } from "../../api/progress/service.ts";
import { categories, users, videos } from "../../db/schema/index.ts";
import { BENCH_JWT_SECRET, startBenchApi } from "./bench-api.ts";
import { ownCpuSeconds, postgresCpuMeter, redisCpuSeconds } from "./cpu-time.ts";
import { median, requireWrk, runWrk } from "./wrk.ts";

const USERS = Number(process.env.BENCH_USERS ?? 2000);
const VIDEOS = Number(process.env.BENCH_VIDEOS ?? 25);
const SERVICE_HEARTBEATS = Number(process.env.BENCH_SERVICE_HEARTBEATS ?? 300_000);
const SERVICE_CONCURRENCY = Number(process.env.BENCH_SERVICE_CONCURRENCY ?? 512);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const FLUSH_SECONDS = Number(process.env.BENCH_FLUSH_SECONDS ?? 5);
const DURATION_SECONDS = 3600;
const RATIO_GOAL = 0.9;

requireWrk();
// The runtime's own flusher stays idle; the bench runs the same flusher class on FLUSH_SECONDS and
// records every batch. It still flushes once on stop, like every replica.
const bench = await startBenchApi({ PROGRESS_FLUSH_INTERVAL_SECONDS: "3600" });
const { runtime, config } = bench;
const log = pino({ level: "silent" });
const scratch = mkdtempSync(join(tmpdir(), "vf-bench-heartbeats-"));
// The same PUT without the progress service (session check, CSRF, JSON body and its validation, 204):
// what the framework alone costs on this machine, for the ratio.
const app = runtime.app
  .put(
    "/bench/baseline/:videoId",
    ({ set }) => {
      set.status = 204;
    },
    {
      auth: true,
      body: t.Object({ position_seconds: t.Number({ minimum: 0 }) }),
    },
  )
  .listen({ hostname: "127.0.0.1", port: 0 });
const base = `http://127.0.0.1:${app.server!.port}`;
const db = runtime.database.db;
const stats = postgres(config.databaseUrl!, { max: 1, onnotice: () => {} });

// Accounts and published videos, straight into the database.
const accounts = await db
  .insert(users)
  .values(
    Array.from({ length: USERS }, (_, i) => ({
      email: `viewer-${i}@bench.test`,
      passwordHash: "not-a-real-hash",
      isActive: true,
    })),
  )
  .returning({ id: users.id, email: users.email });
const [category] = await db.insert(categories).values({ name: "Bench" }).returning();
const clips = await db
  .insert(videos)
  .values(
    Array.from({ length: VIDEOS }, (_, i) => ({
      title: `Clip ${i}`,
      categoryId: category!.id,
      sourceKey: `sources/bench-${i}`,
      sourceBytes: 1,
      processingState: "ready" as const,
      publishedRevision: 1,
      durationSeconds: DURATION_SECONDS,
    })),
  )
  .returning({ id: videos.id });

const flushes: Array<FlushStats & { phase: string }> = [];
let phase = "service";
const flusher = new ProgressFlusher({
  db,
  redis: runtime.redis,
  log,
  intervalSeconds: FLUSH_SECONDS,
  onFlush: (flush) => flushes.push({ ...flush, phase }),
});

async function tableWrites(expected?: number): Promise<{ writes: number; rows: number }> {
  // Backends report their counters when idle, up to ~10 s late: wait until they add up (or 15 s pass).
  const deadline = Date.now() + 15_000;
  for (;;) {
    await stats`select pg_stat_clear_snapshot()`;
    const [row] = await stats<[{ writes: string; rows: string }]>`
      select n_tup_ins + n_tup_upd as writes, (select count(*) from watch_progress) as rows
      from pg_stat_user_tables where relname = 'watch_progress'`;
    const current = { writes: Number(row!.writes), rows: Number(row!.rows) };
    if (expected === undefined || current.writes >= expected || Date.now() > deadline) return current;
    await Bun.sleep(250);
  }
}

/** The flushes of one phase, and whether PostgreSQL's write counter moved by exactly their entries. */
async function report(name: string, heartbeats: number, seconds: number, before: { writes: number }) {
  await flusher.flush(); // what is left after the last timed flush
  const mine = flushes.filter((flush) => flush.phase === name);
  const entries = mine.reduce((sum, flush) => sum + flush.entries, 0);
  const written = mine.reduce((sum, flush) => sum + flush.written, 0);
  const after = await tableWrites(before.writes + entries);
  await Bun.sleep(1000); // and nothing more comes in late
  Object.assign(after, await tableWrites());
  const delta = after.writes - before.writes;
  console.log(`\n${name}: ${heartbeats} heartbeats accepted`);
  if (seconds > 0) {
    console.log(`  accepted heartbeats/s       ${(heartbeats / seconds).toFixed(0)}  (goal ≥ 10000)`);
  }
  const spread = (values: number[], unit: string) =>
    `min ${Math.min(...values).toFixed(0)}, median ${median(values).toFixed(0)}, max ${Math.max(...values).toFixed(0)} ${unit}`;
  console.log(`  flushes                     ${mine.length}`);
  console.log(
    `    batch sizes               ${spread(
      mine.map((flush) => flush.entries),
      "user-videos",
    )}`,
  );
  console.log(
    `    durations                 ${spread(
      mine.map((flush) => flush.durationMs),
      "ms",
    )}`,
  );
  console.log(
    `    statements                ${mine.reduce((sum, flush) => sum + flush.statements, 0)} (≤ 5000 rows each)`,
  );
  console.log(
    `  user-video entries flushed  ${entries}  (coalescing: ${(heartbeats / entries).toFixed(1)} heartbeats per write)`,
  );
  console.log(`  PostgreSQL writes (n_tup_ins+n_tup_upd delta) ${delta}, rows now ${after.rows}`);
  const exact = delta === entries && written === entries;
  console.log(`  one write per user-video per flush: ${exact ? "yes" : "NO"}`);
  if (!exact) process.exitCode = 1;
  return after;
}

console.log(
  `${USERS} users × ${VIDEOS} videos (${USERS * VIDEOS} user-videos), flush every ${FLUSH_SECONDS} s, PostgreSQL + Redis on this machine`,
);

// 1. Service level: what a WebSocket message costs.
const service = new WatchProgressService({
  db,
  redis: runtime.redis,
  config,
  clock: { now: () => new Date() },
});
let before = await tableWrites();
flusher.start();
const serviceStart = performance.now();
let next = 0;
// Client times in the past, so that the HTTP phase's heartbeats (sent "now") are newer.
const baseMs = Date.now() - SERVICE_HEARTBEATS - 60_000;
await Promise.all(
  Array.from({ length: SERVICE_CONCURRENCY }, async () => {
    for (let i = next++; i < SERVICE_HEARTBEATS; i = next++) {
      const user = accounts[i % USERS]!;
      const clip = clips[Math.floor(i / USERS) % VIDEOS]!;
      await service.record(user.id, clip.id, (i / 1000) % DURATION_SECONDS, baseMs + i);
    }
  }),
);
const serviceSeconds = (performance.now() - serviceStart) / 1000;
await flusher.stop();
before = await report("service", SERVICE_HEARTBEATS, serviceSeconds, before);

// 2. HTTP: wrk, one session cookie per user. Two shapes: each user on one video (a player's
// heartbeats coalesce per flush), and every heartbeat on another user-video (nothing coalesces: the
// worst case for PostgreSQL).
const tokens = new AccessTokens(BENCH_JWT_SECRET, 3600);
const cookies = await Promise.all(
  accounts.map(async (account) => {
    const token = await tokens.sign({
      id: account.id,
      email: account.email,
      isAdmin: false,
      sessionId: crypto.randomUUID(),
      userEpoch: 0,
    });
    return `access_token=${token}; csrftoken=bench`;
  }),
);
function wrkScript(name: string, videoOf: string, prefix = "/api/progress/"): string {
  const path = join(scratch, `${name}.lua`);
  writeFileSync(
    path,
    `local cookies = { ${cookies.map((cookie) => `"${cookie}"`).join(",\n")} }
local videos = { ${clips.map((clip) => clip.id).join(", ")} }
local n = 0
request = function()
  n = n + 1
  local user = n % #cookies
  local video = videos[(${videoOf}) % #videos + 1]
  local body = '{"position_seconds":' .. (n % ${DURATION_SECONDS}) .. '}'
  return wrk.format("PUT", "${prefix}" .. video, {
    ["Cookie"] = cookies[user + 1], ["X-CSRFToken"] = "bench", ["Content-Type"] = "application/json"
  }, body)
end
`,
  );
  return path;
}
const scenarios = {
  "http, one video per user": wrkScript("one-video", "user"),
  "http, every user-video in turn": wrkScript("all-pairs", "math.floor(n / #cookies)"),
};

const baseline = wrkScript("baseline", "user", "/bench/baseline/");
const BASELINE = "baseline PUT (no progress service)";
const variants = { [BASELINE]: baseline, ...scenarios };

// Warm-up of every variant, the baseline too: every token once through the signature check (and into
// the session cache), the duration cache filled, the JIT warm on each route.
phase = "warm-up";
for (const script of Object.values(variants)) {
  await runWrk(base, { seconds: 2, connections: CONNECTIONS, script });
}
await flusher.flush();

// Interleaved rounds (this machine is shared: medians, and the ratio to the framework-only PUT);
// the flusher runs throughout, as in production.
phase = "http";
before = await tableWrites(flushes.reduce((sum, flush) => sum + flush.written, 0));
const rates: Record<string, number[]> = {};
// CPU per answered request of each side, in µs: the api (this process), Redis, PostgreSQL (null when
// its processes cannot be read). The flusher runs throughout, so a flush of heartbeats that falls in
// a baseline run is charged to the baseline.
const postgresCpu = await postgresCpuMeter(stats);
const cpuPerRequest: Record<string, { api: number[]; redis: number[]; postgres: number[] }> = {};
let httpHeartbeats = 0;
console.log(
  `\nwrk: 1 thread, ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} interleaved rounds, flusher on`,
);
flusher.start();
const order = Object.entries(variants);
for (let round = 1; round <= ROUNDS; round++) {
  // Round r starts with variant r (mod 3): each takes each place in a round in turn.
  const rotated = [...order.slice((round - 1) % order.length), ...order.slice(0, (round - 1) % order.length)];
  for (const [name, script] of rotated) {
    const cpuBefore = {
      api: ownCpuSeconds(),
      redis: await redisCpuSeconds(runtime.redis),
      pg: postgresCpu?.(),
    };
    const wrk = await runWrk(base, { seconds: SECONDS, connections: CONNECTIONS, script });
    const perRequest = (seconds: number) => (seconds * 1e6) / Math.max(1, wrk.requests);
    const cpu = {
      api: perRequest(ownCpuSeconds() - cpuBefore.api),
      redis: perRequest((await redisCpuSeconds(runtime.redis)) - cpuBefore.redis),
      postgres: postgresCpu ? perRequest(postgresCpu() - cpuBefore.pg!) : Number.NaN,
    };
    cpuPerRequest[name] ??= { api: [], redis: [], postgres: [] };
    const mine = cpuPerRequest[name];
    mine.api.push(cpu.api);
    mine.redis.push(cpu.redis);
    mine.postgres.push(cpu.postgres);
    if (wrk.non2xx > 0) {
      console.log(`  ${name}: ${wrk.non2xx} non-2xx answers`);
      process.exitCode = 1;
    }
    if (script !== baseline) httpHeartbeats += wrk.requests - wrk.non2xx;
    rates[name] = [...(rates[name] ?? []), wrk.requestsPerSecond];
    console.log(
      `  round ${round} ${name.padEnd(36)} ${wrk.requestsPerSecond.toFixed(0).padStart(7)} req/s  p99 ${wrk.latencyP99Ms} ms  CPU µs/request: api ${cpu.api.toFixed(1)}, Redis ${cpu.redis.toFixed(1)}, PostgreSQL ${cpu.postgres.toFixed(1)}`,
    );
  }
}
await flusher.stop();
const framework = median(rates[BASELINE]!);
console.log("\nmedian accepted heartbeats/s (goal ≥ 10000; ratio to the baseline: goal ≥ 0.90)");
for (const [name, values] of Object.entries(rates)) {
  const rate = median(values);
  const ratio = rate / framework;
  const verdict = name === BASELINE ? "" : ratio >= RATIO_GOAL ? "  met" : "  NOT met";
  console.log(
    `  ${name.padEnd(36)} ${rate.toFixed(0).padStart(7)}  ratio to baseline ${ratio.toFixed(2)}${verdict}`,
  );
}
const cpuTotal = (name: string) => {
  const { api, redis, postgres } = cpuPerRequest[name]!;
  return median(api) + median(redis) + (postgresCpu ? median(postgres) : 0);
};
console.log(
  "\nmedian CPU per answered request, µs (api + Redis + PostgreSQL; ratio: the baseline's total / this one's)",
);
for (const [name, { api, redis, postgres }] of Object.entries(cpuPerRequest)) {
  console.log(
    `  ${name.padEnd(36)} api ${median(api).toFixed(1)}  Redis ${median(redis).toFixed(1)}  PostgreSQL ${median(postgres).toFixed(1)}  total ${cpuTotal(name).toFixed(1)}  ratio ${(cpuTotal(BASELINE) / cpuTotal(name)).toFixed(2)}`,
  );
}
await report("http", httpHeartbeats, 0, before);

await stats.end();
rmSync(scratch, { recursive: true, force: true });
await bench.stop();
