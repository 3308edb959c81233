// `bun run chaos [scenario…]`: the chaos suite. Starts its own PostgreSQL, Redis and a small tmpfs media
// volume, the real api and two transcoders as processes, then injects each fault in turn and holds the
// system to what the hardening issue asks after each: nothing lost, nothing stuck, no leftovers after a
// sweep, the api never exiting on its own, outages answered within a second. Prints the recovery time
// of each fault in a table; exits 1 when any fault broke something. Logs: ./var/chaos/logs/<child>.log.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateVideo } from "../../dev/media.ts";
import { waitUntil } from "../../dev/probes.ts";
import { REPO_ROOT } from "../../dev/stack.ts";
import { AdminSession } from "./admin-session.ts";
import { ChaosContext, SETTLE_MS, seconds } from "./context.ts";
import { ChaosFarm } from "./farm.ts";
import { leftovers, missingMedia, Stores, unreadableError, type VideoRow } from "./invariants.ts";
import { MediaVolume } from "./media-volume.ts";
import { formatTable, type ScenarioOutcome } from "./report.ts";
import type { Recovery, Scenario } from "./scenario.ts";
import { SCENARIOS } from "./scenarios/index.ts";
import { ChaosPostgres, ChaosRedis } from "./servers.ts";

/** One fault and its recovery; past this it is abandoned (and counted as broken). */
const SCENARIO_DEADLINE_MS = 90_000;
/** The whole run: faults not started by then are reported as not run (and fail it), never left hanging. */
const RUN_BUDGET_MS = 360_000;
/** How long leftovers may wait for a periodic sweep (the farm runs them every 2 s here). */
const SWEEP_WAIT_MS = 15_000;
const TRANSCODERS = 2;

const say = (message: string) => console.log(`==> ${message}`);

function chosenScenarios(names: string[]): readonly Scenario[] {
  if (names.length === 0) return SCENARIOS;
  const unknown = names.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name));
  if (unknown.length > 0) {
    console.error(
      `unknown scenario(s) ${unknown.join(", ")}; known: ${SCENARIOS.map((s) => s.name).join(", ")}`,
    );
    process.exit(2);
  }
  return SCENARIOS.filter((scenario) => names.includes(scenario.name));
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: Timer | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Puts back whatever a scenario took away, even one that failed half-way. */
async function restore(ctx: ChaosContext): Promise<void> {
  ctx.thawAll();
  ctx.volume.release();
  await ctx.redis.start();
  await ctx.postgres.start();
  if (!ctx.farm.apiRunning) await ctx.farm.startApi();
  while (ctx.farm.runningTranscoders().length < TRANSCODERS) ctx.farm.startTranscoder();
}

/** The checks after every fault, on the stores themselves. */
async function afterFault(ctx: ChaosContext, firstNewId: number): Promise<void> {
  for (const exit of ctx.farm.unexpectedExits.splice(0)) ctx.violated(`${exit} on its own`);
  let videos: VideoRow[] = [];
  const unsettled = () => videos.filter((video) => video.state !== "ready" && video.state !== "error");
  try {
    await waitUntil(
      "every video ready or error",
      async () => {
        videos = await ctx.stores.videos();
        return unsettled().length === 0;
      },
      { timeoutMs: SETTLE_MS, intervalMs: 250 },
    );
  } catch {
    ctx.violated(
      `stuck: ${unsettled()
        .map((video) => `video ${video.id} ${video.state}`)
        .join(", ")}`,
    );
  }
  for (const video of videos.filter((row) => row.id >= firstNewId && row.state === "ready")) {
    const missing = missingMedia(ctx.farm.mediaRoot, video);
    if (missing) ctx.violated(missing);
  }
  for (const video of videos.filter((row) => row.id >= firstNewId && row.state === "error")) {
    const unreadable = unreadableError(video.error);
    if (unreadable && !ctx.violations.some((v) => v.startsWith(`video ${video.id} `)))
      ctx.violated(`video ${video.id} ended in error, ${unreadable}`);
  }
  let jobs: Record<string, number> = {};
  await waitUntil(
    "the queue to be quiet",
    async () => {
      jobs = await ctx.stores.unfinishedJobs();
      return Object.keys(jobs).length === 0;
    },
    { timeoutMs: 15_000, intervalMs: 250 },
  ).catch(() => ctx.violated(`queue not quiet: ${JSON.stringify(jobs)}`));
  let left: string[] = [];
  await waitUntil(
    "no leftovers after a sweep",
    async () => {
      left = leftovers(ctx.farm.mediaRoot, await ctx.stores.videos()).filter(
        (entry) => !ctx.reportedLeftovers.has(entry),
      );
      return left.length === 0;
    },
    { timeoutMs: SWEEP_WAIT_MS, intervalMs: 250 },
  ).catch(() => {
    ctx.violated(`leftovers after ${SWEEP_WAIT_MS / 1000} s: ${left.join(", ")}`);
    for (const entry of left) ctx.reportedLeftovers.add(entry);
  });
  if (!ctx.farm.apiRunning) ctx.violated("the api is not running");
}

async function runScenario(ctx: ChaosContext, scenario: Scenario): Promise<ScenarioOutcome> {
  say(`${scenario.name}: ${scenario.fault}`);
  ctx.violations = [];
  const startedAt = performance.now();
  const firstNewId = Math.max(0, ...(await ctx.stores.videos()).map((video) => video.id)) + 1;
  let recovery: Recovery | null = null;
  try {
    recovery = await withDeadline(scenario.run(ctx), SCENARIO_DEADLINE_MS, scenario.name);
  } catch (error) {
    ctx.violated(`aborted: ${message(error)}`);
  }
  try {
    await restore(ctx);
    await afterFault(ctx, firstNewId);
  } catch (error) {
    ctx.violated(`could not check the aftermath: ${message(error)}`);
  }
  if (recovery?.outage) ctx.violations.push(...recovery.outage.violations);
  const outcome: ScenarioOutcome = {
    name: scenario.name,
    fault: scenario.fault,
    recoverySeconds: recovery?.seconds ?? null,
    span: recovery?.span ?? "",
    slowestOutageMs: recovery?.outage ? recovery.outage.slowestMs : null,
    violations: [...ctx.violations],
    seconds: seconds(startedAt),
  };
  say(
    `${scenario.name}: ${outcome.violations.length === 0 ? "held" : `FAILED: ${outcome.violations.join("; ")}`} (${outcome.seconds.toFixed(1)} s)`,
  );
  return outcome;
}

const notRun = (scenario: Scenario): ScenarioOutcome => ({
  name: scenario.name,
  fault: scenario.fault,
  recoverySeconds: null,
  span: "",
  slowestOutageMs: null,
  violations: [`not run: the run's ${RUN_BUDGET_MS / 60_000}-minute budget was spent`],
  seconds: 0,
});

async function main(): Promise<number> {
  const scenarios = chosenScenarios(process.argv.slice(2));
  const startedAt = performance.now();
  const scratch = mkdtempSync(join(tmpdir(), "vf-chaos-"));
  const logDir = join(REPO_ROOT, "var", "chaos", "logs");
  rmSync(logDir, { recursive: true, force: true });
  const teardown: Array<() => Promise<void> | void> = [
    () => rmSync(scratch, { recursive: true, force: true }),
  ];
  const stopAll = async () => {
    for (const step of teardown.splice(0).reverse()) await Promise.resolve(step()).catch(() => {});
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void stopAll().then(() => process.exit(130)));
  }
  try {
    say("starting PostgreSQL, Redis, a 96 MiB tmpfs media volume, the api and two transcoders");
    const volume = MediaVolume.mount(join(scratch, "media"), 96);
    teardown.push(() => volume.unmount());
    const [postgres, redis] = await Promise.all([ChaosPostgres.create(scratch), ChaosRedis.create(scratch)]);
    teardown.push(
      () => postgres.stop(),
      () => redis.stop(),
    );
    const [source] = await Promise.all([
      generateVideo(join(scratch, "source.mp4"), {
        seconds: 8,
        width: 640,
        height: 360,
        fps: 30,
        audio: "stereo",
      }),
      postgres.start(),
      redis.start(),
    ]);
    const databaseUrl = await postgres.createDatabase("videoflix_chaos");
    const farm = await ChaosFarm.create({
      scratch,
      logDir,
      databaseUrl,
      redisUrl: redis.url,
      mediaRoot: volume.root,
    });
    teardown.push(() => farm.stop());
    await farm.startApi();
    for (let i = 0; i < TRANSCODERS; i++) farm.startTranscoder();
    const stores = new Stores(databaseUrl, redis.url);
    teardown.push(() => stores.close());
    const session = await AdminSession.login(farm.apiUrl);
    const ctx = new ChaosContext(farm, redis, postgres, volume, stores, session, source);
    say(`ready in ${seconds(startedAt).toFixed(1)} s; logs in ${logDir}`);

    const outcomes: ScenarioOutcome[] = [];
    for (const scenario of scenarios) {
      if (performance.now() - startedAt > RUN_BUDGET_MS) outcomes.push(notRun(scenario));
      else outcomes.push(await runScenario(ctx, scenario));
    }
    console.log(`\n${formatTable(outcomes)}\n`);
    const failed = outcomes.filter((outcome) => outcome.violations.length > 0);
    say(
      `${outcomes.length - failed.length} of ${outcomes.length} faults held in ${seconds(startedAt).toFixed(0)} s` +
        (failed.length > 0 ? `; broken by: ${failed.map((outcome) => outcome.name).join(", ")}` : ""),
    );
    return failed.length > 0 ? 1 : 0;
  } finally {
    await stopAll();
  }
}

// The suite's own promises (a probe abandoned at a deadline) must not end it half-way.
process.on("unhandledRejection", (reason) => console.error("chaos: unhandled rejection:", reason));
process.exit(await main());
