// `bun run bench:source-cache`: what the transcoders' source cache saves a chunked film on object
// storage (issue 14: "each replica downloads … the whole source once per replica with a cache; say which
// and measure"). A generated 1080p30 film (BENCH_SECONDS, 120 by default, 16 Mb/s) is put in a
// SeaweedFS bucket; two real transcoder processes, each pinned to its own core, share nothing but Redis
// and the bucket and encode its pieces (CHUNK_SEGMENTS=2: 12 s chunks), once with the cache off
// (TRANSCODER_SOURCE_CACHE_MB=0: every piece and every run of the film's job downloads the source, as
// before) and once on, alternately for BENCH_ROUNDS rounds. Printed per run: downloads of the source,
// bytes and seconds spent downloading, reads from a replica's copy, wall time; then the ratios, cache on
// over off, in the same round.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import Redis from "ioredis";
import { loadStorageSettings } from "../../config/storage.ts";
import { TRANSCODE_QUEUE } from "../../contract/transcode-jobs.ts";
import { stopTestServices, testRedisUrl, testS3 } from "../../dev/services.ts";
import { openMediaStorage } from "../../storage/open.ts";
import { farmRun, generateFilm, pinned, type Run } from "./farm-run.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 120);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const LADDER = process.env.BENCH_LADDER ?? "360,720";
const SOURCE_KEY = "uploads/film.mp4";
const work = mkdtempSync(join(tmpdir(), "vf-bench-source-cache-"));

interface Reads {
  downloads: number;
  bytes: number;
  downloadSeconds: number;
  fromCopy: number;
}

function readsOf(run: Run): Reads {
  const downloads = run.logLines.filter((line) => line.msg === "source downloaded");
  return {
    downloads: downloads.length,
    bytes: downloads.reduce((sum, line) => sum + Number(line.bytes), 0),
    downloadSeconds: downloads.reduce((sum, line) => sum + Number(line.seconds), 0),
    fromCopy: run.logLines.filter((line) => line.msg === "source read from this replica's copy").length,
  };
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

async function main() {
  const sourcePath = join(work, "film.mp4");
  await generateFilm(sourcePath, SECONDS);
  const bucket = await testS3();
  const storage = openMediaStorage(loadStorageSettings(bucket.env), join(work, "scratch"));
  await storage.putFile(sourcePath, SOURCE_KEY);
  const size = (await storage.stat(SOURCE_KEY))?.size ?? 0;
  console.log(
    `source in the bucket: ${mib(size)}; ladder ${LADDER}; 2 replicas pinned: ${pinned ? "yes" : "no"}`,
  );
  const redisUrl = await testRedisUrl();
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(TRANSCODE_QUEUE, { connection });
  let videoId = 0;
  const run = (cache: "off" | "on") =>
    farmRun({
      queue,
      redisUrl,
      label: `cache ${cache}`,
      videoId: ++videoId,
      replicas: 2,
      sourceKey: SOURCE_KEY,
      env: {
        ...bucket.env,
        CHUNKING: "on",
        CHUNK_MIN_SECONDS: "10",
        CHUNK_SEGMENTS: process.env.CHUNK_SEGMENTS ?? "2",
        TRANSCODER_LADDER: LADDER,
        TRANSCODER_SOURCE_CACHE_MB: cache === "off" ? "0" : "20480",
      },
    });
  const rounds: Array<{ off: Reads & { wall: number }; on: Reads & { wall: number } }> = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      // Which goes first alternates: a machine getting busier or quieter favours neither.
      const order: Array<"off" | "on"> = round % 2 === 1 ? ["off", "on"] : ["on", "off"];
      const result: Partial<Record<"off" | "on", Reads & { wall: number }>> = {};
      for (const cache of order) {
        const done = await run(cache);
        const reads = readsOf(done);
        result[cache] = { ...reads, wall: done.wallSeconds };
        console.log(
          `  round ${round}, cache ${cache}: ${done.pieces.length} pieces, ${reads.downloads} downloads (${mib(reads.bytes)}, ${reads.downloadSeconds.toFixed(1)} s downloading), ${reads.fromCopy} reads from a replica's copy, ${done.wallSeconds.toFixed(1)} s wall`,
        );
      }
      rounds.push({ off: result.off!, on: result.on! });
    }
  } finally {
    await queue.close();
    connection.disconnect();
    await bucket.drop();
  }
  console.log("\nround  downloads on/off  bytes on/off  seconds downloading on/off  wall on/off");
  for (const [index, { off, on }] of rounds.entries()) {
    console.log(
      `${String(index + 1).padEnd(6)} ${`${on.downloads}/${off.downloads}`.padEnd(17)} ${(on.bytes / off.bytes).toFixed(3).padEnd(13)} ${(on.downloadSeconds / off.downloadSeconds).toFixed(3).padEnd(27)} ${(on.wall / off.wall).toFixed(3)}`,
    );
  }
}

try {
  await main();
} finally {
  await stopTestServices();
  rmSync(work, { recursive: true, force: true });
}
