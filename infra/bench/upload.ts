// `bun run bench:upload`: the same bytes (1 GiB by default) sent to an api process of its own as one
// multipart request (upload-client.ts) and as a tus upload in 8 MiB chunks with tus-js-client
// (tus-client.ts), over loopback, into the local driver and into SeaweedFS. Prints the throughput of
// each, the ratio tus / multipart (goal ≥ 0.8 into the local driver) and the api's RSS around each
// upload (goal: flat; for tus also once 256 MiB and the whole file were acknowledged: the plateau).
// BENCH_UPLOAD_GIB (default 1), BENCH_ROUNDS (default 1: multipart, tus, tus, multipart per round).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stopTestServices, testS3 } from "../../dev/services.ts";
import { benchUploads, type UploadProtocol } from "./storage-upload.ts";

const BYTES = Math.round(Number(process.env.BENCH_UPLOAD_GIB ?? 1) * 1024 ** 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
// ABBA within a round: a machine that drifts during the run favours neither protocol.
const ORDER: UploadProtocol[] = Array.from({ length: ROUNDS }, () =>
  (["multipart", "tus", "tus", "multipart"] as const).slice(),
).flat();

const work = mkdtempSync(join(tmpdir(), "vf-bench-upload-"));
const bucket = await testS3();
console.log(`${(BYTES / 1024 ** 3).toFixed(2)} GiB per upload; SeaweedFS ${bucket.endpoint}`);
try {
  const targets = [
    { name: "local", env: { MEDIA_ROOT: join(work, "media") } },
    { name: "SeaweedFS", env: bucket.env },
  ];
  for (const target of targets) {
    console.log(`\n=== into ${target.name}`);
    const runs = await benchUploads({ storageEnv: target.env, sizes: [BYTES], work, protocols: ORDER });
    const rate = (protocol: UploadProtocol) => {
      const mine = runs.filter((run) => run.protocol === protocol);
      const seconds = mine.reduce((sum, run) => sum + run.seconds, 0) / mine.length;
      return BYTES / 1024 ** 2 / seconds;
    };
    const multipart = rate("multipart");
    const tus = rate("tus");
    const ratio = tus / multipart;
    console.table(
      runs.map((run) => ({
        protocol: run.protocol,
        "MiB/s": Math.round(run.bytes / 1024 ** 2 / run.seconds),
        "RSS start MiB": Math.round(run.startRssMiB),
        "peak MiB": Math.round(run.peakRssMiB),
        "signed in": Math.round(run.signedInRssMiB),
        "peak since": Math.round(run.peakSinceSignInMiB),
        "at 256 MiB": run.rssAt256MiB === null ? "–" : Math.round(run.rssAt256MiB),
        "at last chunk": run.rssAtLastChunk === null ? "–" : Math.round(run.rssAtLastChunk),
        "end MiB": Math.round(run.endRssMiB),
        "end − start MiB": Math.round(run.endRssMiB - run.startRssMiB),
        "stored = sent": run.storedBytes === run.bytes ? "yes" : "NO",
      })),
    );
    const goal = target.name === "local" ? ` — goal ≥ 0.8: ${ratio >= 0.8 ? "met" : "NOT met"}` : "";
    console.log(
      `${target.name}: multipart ${multipart.toFixed(0)} MiB/s, tus ${tus.toFixed(0)} MiB/s, ` +
        `tus / multipart ${ratio.toFixed(2)}${goal}`,
    );
  }
} finally {
  await bucket.drop();
  await stopTestServices();
  rmSync(work, { recursive: true, force: true });
}
