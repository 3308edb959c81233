// `bun run media:backfill-mp4`: gives every listed video transcoded before progressive MP4s existed its
// MP4s (one per rung, a stream copy of the published HLS: nothing is encoded again), on the local
// driver or a bucket, and records them in PostgreSQL. One line per video, a summary at the end. Run it
// again after any failure: what is done is skipped. Exit 1 when a video failed, 64 for bad arguments,
// 78 for a bad setting. Needs FFmpeg and the api's settings (DATABASE_URL, MEDIA_ROOT or STORAGE_URL…).
import { parseArgs } from "node:util";
import { loadConfig } from "../../api/config/load.ts";
import { type Env, loadOrExit } from "../../config/env.ts";
import { openDatabase } from "../../db/client.ts";
import { openMediaStorage } from "../../storage/index.ts";
import { backfillVideo, readPublished, rungsWithoutMp4, type VideoOutcome } from "./mp4-backfill.ts";

const USAGE = `usage: bun run media:backfill-mp4 [--dry-run]

Remuxes the published renditions that have no progressive MP4 yet into one (stream copy, +faststart),
stores it beside the rung's segments and lists it in the video's stored result. The api's settings
(DATABASE_URL, MEDIA_ROOT or STORAGE_URL and S3_*) come from the environment.
  --dry-run   list what would be remuxed; write nothing`;

function parseOptions(argv: string[]): { dryRun: boolean } {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { "dry-run": { type: "boolean", default: false }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    return { dryRun: values["dry-run"] };
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    process.exit(64);
  }
}

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? "" : "s"}`;
const mebibytes = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

function describe(outcome: VideoOutcome): string {
  const video = `video ${outcome.row.id} r${outcome.row.revision}`;
  switch (outcome.status) {
    case "done":
      return `${video}: ${outcome.added.map((mp4) => `${mp4.name} ${mebibytes(mp4.size)}`).join(", ")} in ${outcome.seconds.toFixed(1)} s`;
    case "changed":
      return `${video}: skipped, a new revision was published or the video deleted meanwhile`;
    case "failed":
      return `${video}: failed: ${outcome.message}`;
  }
}

export async function main(env: Env, argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  const config = loadOrExit(() => loadConfig(env));
  const storage = openMediaStorage(config.storage);
  const database = await openDatabase({ url: config.databaseUrl, pgliteDir: config.pgliteDir, poolSize: 1 });
  try {
    const { all, missing } = await readPublished(database.db);
    const rungs = missing.reduce((sum, row) => sum + rungsWithoutMp4(row).length, 0);
    console.log(
      `${plural(all, "listed video")}, ${missing.length} without every MP4 (${plural(rungs, "rung")} to remux)${options.dryRun ? " (dry run)" : ""}`,
    );
    if (options.dryRun) {
      for (const row of missing) {
        const names = rungsWithoutMp4(row).map((rendition) => rendition.name);
        console.log(`video ${row.id} r${row.revision}: would remux ${names.join(", ")}`);
      }
      return 0;
    }
    const outcomes: VideoOutcome[] = [];
    for (const [index, row] of missing.entries()) {
      const outcome = await backfillVideo({ db: database.db, storage }, row);
      outcomes.push(outcome);
      const line = `[${index + 1}/${missing.length}] ${describe(outcome)}`;
      if (outcome.status === "failed") console.error(line);
      else console.log(line);
    }
    const done = outcomes.filter((outcome) => outcome.status === "done");
    const added = done.flatMap((outcome) => outcome.added);
    const failed = outcomes.filter((outcome) => outcome.status === "failed").length;
    const changed = outcomes.filter((outcome) => outcome.status === "changed").length;
    console.log(
      `backfill-mp4: ${plural(done.length, "video")} given ${plural(added.length, "MP4")} (${mebibytes(added.reduce((sum, mp4) => sum + mp4.size, 0))}), ${changed} changed meanwhile, ${failed} failed, ${all - missing.length} already complete`,
    );
    if (failed > 0) {
      console.error(
        "some videos failed: fix the cause and run the same command again (finished ones are kept)",
      );
      return 1;
    }
    return 0;
  } finally {
    await database.close();
  }
}

if (import.meta.main) {
  process.exit(
    await main(process.env, process.argv.slice(2)).catch((error: unknown) => {
      console.error(`media:backfill-mp4 failed: ${error instanceof Error ? error.message : String(error)}`);
      return 1;
    }),
  );
}
