// `bun run storage:migrate --to s3://bucket/prefix`: copies a local install's media (every video's
// source and every object of its published revision) from the local driver to a bucket, checks each
// copy's size, and prints the settings that switch the install over. Re-running finishes an interrupted
// run: objects already in the bucket with the right size are skipped. Exit 1 on a failure, naming the
// object; 64 for bad arguments; 78 for a bad setting.
import { parseArgs } from "node:util";
import { type Env, loadOrExit } from "../../config/env.ts";
import { loadStorageSettings } from "../../config/storage.ts";
import { openDatabase } from "../../db/client.ts";
import { LocalMediaStorage, openMediaStorage } from "../../storage/index.ts";
import { loadConfig } from "../config/load.ts";
import { copyPlan } from "./storage-migrate/copy.ts";
import { planMigration, readVideoRows } from "./storage-migrate/plan.ts";
import { bucketSettings, printableSettings, writeEnvFile } from "./storage-migrate/settings.ts";

const USAGE = `usage: bun run storage:migrate --to s3://bucket[/prefix] [--dry-run] [--concurrency N] [--write-env FILE]

Copies the media of this install (MEDIA_ROOT or STORAGE_URL=file://…) to the bucket; the bucket's
S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY (S3_REGION, S3_PUBLIC_ENDPOINT, S3_FORCE_PATH_STYLE)
come from the environment, as the api reads them.
  --dry-run         count what would be copied; write nothing
  --concurrency N   objects copied at once (1-64, default 8)
  --write-env FILE  also set STORAGE_URL and S3_* in that env file once the copy is complete`;
const PROGRESS_INTERVAL_MS = 10_000;

function usage(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(64);
}

const parse = (args: string[]) =>
  parseArgs({
    args,
    options: {
      to: { type: "string" },
      "dry-run": { type: "boolean", default: false },
      concurrency: { type: "string", default: "8" },
      "write-env": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });

function parseOptions(argv: string[]) {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error));
  }
  const { values } = parsed;
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (!values.to) usage("--to is required");
  if (!values.to.startsWith("s3://")) usage(`--to must be an s3://bucket/prefix URL, got "${values.to}"`);
  const concurrency = Number(values.concurrency);
  if (!/^\d+$/.test(values.concurrency) || concurrency < 1 || concurrency > 64) {
    usage(`--concurrency must be an integer from 1 to 64, got "${values.concurrency}"`);
  }
  return { to: values.to, dryRun: values["dry-run"], concurrency, writeEnv: values["write-env"] };
}

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? "" : "s"}`;

const formatBytes = (bytes: number) => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
};

async function main(env: Env): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const config = loadOrExit(() => loadConfig(env));
  if (config.storage.kind !== "local") {
    console.error(
      "configuration error: this install already uses object storage (STORAGE_URL is s3://…); storage:migrate copies from the local driver",
    );
    return 78;
  }
  const targetSettings = loadOrExit(() => loadStorageSettings({ ...env, STORAGE_URL: options.to }));
  if (targetSettings.kind !== "s3") usage(`--to must be an s3://bucket/prefix URL, got "${options.to}"`);
  const settings = bucketSettings(targetSettings);
  const targetUrl = settings[0]![1];
  const source = new LocalMediaStorage(config.storage.mediaRoot);
  const target = openMediaStorage(targetSettings);

  const database = await openDatabase({ url: config.databaseUrl, pgliteDir: config.pgliteDir, poolSize: 1 });
  const rows = await readVideoRows(database.db).finally(() => database.close());
  const plan = await planMigration(rows, source);
  console.log(
    `${plural(rows.length, "video")}, ${plural(plan.objects, "object")}, ${formatBytes(plan.bytes)} in ${source.root} → ${targetUrl}${options.dryRun ? " (dry run)" : ""}`,
  );
  if (plan.missing.length > 0) {
    for (const missing of plan.missing) {
      console.error(`missing: ${missing.key} (video ${missing.videoId}, ${missing.expectedBy})`);
    }
    console.error(
      `${plan.missing.length} object(s) of the install are missing from ${source.root}; nothing was copied`,
    );
    return 1;
  }

  let lastStreamed = 0;
  let streamed = 0;
  const ticker = setInterval(() => {
    if (streamed === lastStreamed) return;
    lastStreamed = streamed;
    console.log(`… ${formatBytes(streamed)} streamed so far`);
  }, PROGRESS_INTERVAL_MS);
  const summary = await copyPlan(plan, {
    source,
    target,
    concurrency: options.concurrency,
    dryRun: options.dryRun,
    onBytes: (bytes) => {
      streamed = bytes;
    },
    onVideoDone: (video) => {
      console.log(
        `video ${video.videoId}: ${plural(video.objects, "object")}, ${formatBytes(video.bytes)} (${options.dryRun ? "to copy" : "copied"} ${video.copied}, already there ${video.present})` +
          ` | ${video.done.objects}/${plan.objects} objects, ${formatBytes(video.done.bytes)}/${formatBytes(plan.bytes)}`,
      );
    },
  }).finally(() => clearInterval(ticker));

  const copiedWord = options.dryRun ? "would copy" : "copied";
  console.log(
    `${copiedWord} ${summary.copied.objects} objects (${summary.copied.bytes} bytes), skipped ${summary.present.objects} already present (${summary.present.bytes} bytes)`,
  );
  if (summary.failures.length > 0) {
    for (const failure of summary.failures) {
      console.error(`failed: ${failure.key} (video ${failure.videoId}): ${failure.message}`);
    }
    console.error(
      "the bucket is not complete: fix the cause and run the same command again (copied objects are kept)",
    );
    return 1;
  }
  if (options.dryRun) {
    console.log(`dry run: nothing was written${options.writeEnv ? ` (not even ${options.writeEnv})` : ""}`);
    return 0;
  }

  console.log(
    `\nThe bucket holds every source and published revision. Set these for the api and every transcoder, then restart them:`,
  );
  for (const line of printableSettings(settings)) console.log(`  ${line}`);
  if (options.writeEnv) {
    await writeEnvFile(options.writeEnv, settings);
    console.log(`written to ${options.writeEnv}`);
  }
  console.log(
    `Uploads made after this run started are not in the bucket: stop the api and transcoders, run this again, then switch. The files under ${source.root} are left as they are.`,
  );
  return 0;
}

process.exit(
  await main(process.env).catch((error: unknown) => {
    console.error(`storage:migrate failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }),
);
