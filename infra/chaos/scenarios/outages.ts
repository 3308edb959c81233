// A store goes away under load: Redis killed outright (for longer than a job's lock) and PostgreSQL
// stopped, each while a job runs, and Redis also while a player sends heartbeats.
import { existsSync } from "node:fs";
import { httpOk, waitUntil } from "../../../dev/probes.ts";
import { type ChaosContext, type FrozenEncode, seconds } from "../context.ts";
import { LOCK_SECONDS } from "../farm.ts";
import { probeDuringOutage } from "../outage-probes.ts";
import { isAlive } from "../processes.ts";
import type { Scenario } from "../scenario.ts";

/** Longer than a lock: the job's lock lapses while Redis is away. */
const REDIS_OUTAGE_MS = LOCK_SECONDS * 2000;
const POSTGRES_OUTAGE_MS = 4000;

const untilApiReady = (ctx: ChaosContext) =>
  waitUntil("the api's /ready after the outage", () => httpOk(`${ctx.farm.apiUrl}/ready`, 1000), {
    timeoutMs: 30_000,
  });

/** A ready video to send heartbeats for: the one an earlier scenario made, or a new one. */
async function heartbeatVideo(ctx: ChaosContext): Promise<number> {
  if (ctx.readyVideo !== null) return ctx.readyVideo;
  return (await ctx.untilReady(await ctx.uploadSource("heartbeats target"))).id;
}

/** Every heartbeat the api acknowledged must be in PostgreSQL: the latest of them once flushed. */
async function expectStored(
  ctx: ChaosContext,
  videoId: number,
  acked: Array<{ position: number; sentAt: number }>,
) {
  const latest = acked.reduce<(typeof acked)[number] | null>(
    (best, beat) => (best === null || beat.sentAt > best.sentAt ? beat : best),
    null,
  );
  if (!latest) return;
  let stored: number | null = null;
  try {
    await waitUntil(
      "the latest acknowledged heartbeat in PostgreSQL",
      async () => {
        stored = await ctx.stores.storedPosition(videoId).catch(() => null);
        return stored !== null && Math.abs(stored - latest.position) < 1e-3;
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    );
  } catch {
    ctx.violated(
      `acknowledged heartbeat lost: stored position ${stored}, latest acknowledged ${latest.position}`,
    );
  }
}

export const redisKilledDuringJob: Scenario = {
  name: "redis-job",
  fault: `SIGKILL Redis ${REDIS_OUTAGE_MS / 1000} s (> ${LOCK_SECONDS} s lock) mid-job`,
  async run(ctx) {
    const id = await ctx.uploadSource("redis killed mid-job");
    const first = await ctx.freezeEncode();
    // Some of its work on disk already: the work a takeover must not destroy.
    await ctx.advance(first, 1);
    await ctx.redis.kill9();
    ctx.mark(`Redis killed (job held mid-encode by ${first.transcoder})`);
    const outage = await probeDuringOutage(ctx.session, Bun.sleep(REDIS_OUTAGE_MS), null);
    await ctx.redis.start();
    ctx.mark("Redis restarted");
    const restartedAt = performance.now();
    // The lapsed lock hands the job to a new attempt (on any worker, the first one's too): two attempts
    // of one job are then live. Watched for from the restart on, since it may start before the api is
    // ready again. The one that lost its lock goes on first and ends (it fails: its work was taken from
    // it, or it stops itself); then the one holding the job finishes, and its `ready` must stand.
    const takeover = ctx.freezeEncode(new Set([first.pid])).catch(() => null);
    await untilApiReady(ctx);
    const second = await takeover;
    if (!second) ctx.violated("no new attempt of the job was seen after its lock lapsed");
    ctx.thaw(first.pid);
    await untilAttemptGone(ctx, first);
    if (second) ctx.thaw(second.pid);
    await ctx.untilReady(id);
    return { seconds: seconds(restartedAt), span: "Redis back → video ready", outage };
  },
};

/** Waits for a frozen attempt, once thawed, to end: its FFmpeg gone and its staging published or dropped. */
async function untilAttemptGone(ctx: ChaosContext, attempt: FrozenEncode): Promise<void> {
  await waitUntil(
    "the attempt that lost its lock to end",
    async () => !isAlive(attempt.pid) && !existsSync(attempt.stagingDir),
    { timeoutMs: 30_000, intervalMs: 100 },
  ).catch(() => ctx.violated("the attempt that lost its lock did not end within 30 s"));
  // Its last report (if any) goes through Redis to the api: give the consumer a moment to apply it.
  await Bun.sleep(1000);
}

export const redisKilledDuringHeartbeats: Scenario = {
  name: "redis-heartbeats",
  fault: `SIGKILL Redis ${REDIS_OUTAGE_MS / 1000} s during heartbeats`,
  async run(ctx) {
    const videoId = await heartbeatVideo(ctx);
    const startedAt = Date.now();
    const acked: Array<{ position: number; sentAt: number }> = [];
    // A player's last seconds before the crash: acknowledged into Redis, the latest not flushed yet
    // (checked: a flush in between would leave the kill nothing to lose, and the check nothing to catch).
    let beat = 0;
    const send = async () => {
      beat += 1;
      const beatAt = Date.now();
      const position = 0.5 + beat * 0.25;
      const response = await ctx.session.heartbeat(videoId, position, beatAt);
      if (response.status === 204) acked.push({ position, sentAt: beatAt });
      else ctx.violated(`heartbeat before the outage answered ${response.status}`);
      return position;
    };
    let latest = 0;
    for (let i = 0; i < 5; i++) latest = await send();
    while (beat < 20 && (await ctx.stores.storedPosition(videoId)) === latest) latest = await send();
    await ctx.redis.kill9();
    ctx.mark(`Redis killed (latest acknowledged heartbeat at ${latest} s, not flushed)`);
    const outage = await probeDuringOutage(ctx.session, Bun.sleep(REDIS_OUTAGE_MS), {
      id: videoId,
      positionAt: (round) => 5 + round * 0.01,
    });
    acked.push(...outage.acknowledgedHeartbeats);
    await ctx.redis.start();
    ctx.mark("Redis restarted");
    const restartedAt = performance.now();
    // Back when a heartbeat is accepted again; sent "earlier", so that it never becomes the latest.
    await waitUntil(
      "a heartbeat accepted after the restart",
      async () => (await ctx.session.heartbeat(videoId, 0.25, startedAt - 1000)).status === 204,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const recovered = seconds(restartedAt);
    await expectStored(ctx, videoId, acked);
    return { seconds: recovered, span: "Redis back → heartbeat accepted", outage };
  },
};

export const postgresStoppedDuringJob: Scenario = {
  name: "postgres-job",
  fault: `stop PostgreSQL ${POSTGRES_OUTAGE_MS / 1000} s mid-job`,
  async run(ctx) {
    // The heartbeat target first: waiting for it to be ready would let the job's encode finish unfrozen.
    const videoId = await heartbeatVideo(ctx);
    const id = await ctx.uploadSource("postgres stopped mid-job");
    const { pid } = await ctx.freezeEncode();
    await ctx.postgres.stop();
    ctx.mark("PostgreSQL stopped");
    const outage = probeDuringOutage(ctx.session, Bun.sleep(POSTGRES_OUTAGE_MS), {
      id: videoId,
      positionAt: (round) => 6 + round * 0.01,
    });
    // The job finishes while the database is down: its report has to wait for it.
    ctx.thaw(pid);
    const report = await outage;
    await ctx.postgres.start();
    ctx.mark("PostgreSQL restarted");
    const restartedAt = performance.now();
    await untilApiReady(ctx);
    await ctx.untilReady(id);
    const recovered = seconds(restartedAt);
    await expectStored(ctx, videoId, report.acknowledgedHeartbeats);
    return { seconds: recovered, span: "PostgreSQL back → video ready", outage: report };
  },
};
