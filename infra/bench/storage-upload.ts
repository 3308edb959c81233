// Part 3 of `bun run bench:storage`: a multi-GiB upload streamed into an api process of its own (the
// local-stack supervisor starts `bun api/main.ts`, no transcoder) from another process
// (infra/bench/upload-client.ts), while the api's RSS is read from /proc/<pid>/status every 250 ms.
// Afterwards the stored object's size is checked against what was sent, and the object removed.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "bun";
import { loadStorageSettings } from "../../config/storage.ts";
import { memorySink } from "../../dev/output.ts";
import { createTestDatabase, freePort, testRedisUrl } from "../../dev/services.ts";
import { REPO_ROOT, startStack } from "../../dev/stack.ts";
import { openMediaStorage } from "../../storage/index.ts";

const SAMPLE_MS = 250;
const MiB = 1024 * 1024;
const ADMIN = { email: "admin@bench.example.com", password: randomBytes(18).toString("base64url") };

export interface UploadRun {
  driver: "local" | "s3";
  bytes: number;
  seconds: number;
  startRssMiB: number;
  peakRssMiB: number;
  endRssMiB: number;
  /**
   * The api's RSS once the client signed in (verifying the password with argon2id takes 64 MiB, which
   * stays resident) and its peak from then on: what the upload itself costs.
   */
  signedInRssMiB: number;
  peakSinceSignInMiB: number;
  /** The api's RSS once the server acknowledged 256 MiB, and the whole upload (tus runs only). */
  rssAt256MiB: number | null;
  rssAtLastChunk: number | null;
  storedBytes: number;
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) / 1024;
}

/** How the bytes are sent: one multipart request (upload-client.ts), or tus in 8 MiB chunks (tus-client.ts). */
export type UploadProtocol = "multipart" | "tus";
const CLIENT_SCRIPTS: Record<UploadProtocol, string> = {
  multipart: "infra/bench/upload-client.ts",
  tus: "infra/bench/tus-client.ts",
};

/** Starts an api process on `storageEnv`, streams one upload of each size into it, stops it. */
export async function benchUploads(options: {
  storageEnv: Record<string, string>;
  sizes: readonly number[];
  work: string;
  /** The protocol of each upload, in turn (default: one multipart upload per size). */
  protocols?: readonly UploadProtocol[];
}): Promise<Array<UploadRun & { protocol: UploadProtocol }>> {
  const settings = loadStorageSettings(options.storageEnv);
  const storage = openMediaStorage(settings, join(options.work, "upload-scratch"));
  const [database, redisUrl, port] = await Promise.all([createTestDatabase(), testRedisUrl(), freePort()]);
  const maxUpload = Math.max(...options.sizes) + 64 * MiB;
  const sink = memorySink();
  const stack = await startStack({
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      ...options.storageEnv,
    },
    redis: { url: redisUrl, startIfMissing: false },
    api: {
      port,
      env: {
        NODE_ENV: "development",
        PUBLIC_URL: `http://127.0.0.1:${port}`,
        DATABASE_URL: database.url,
        JWT_SECRET: randomBytes(36).toString("base64url"),
        MAIL_DIR: join(options.work, "mail"),
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        MAX_UPLOAD_BYTES: String(maxUpload),
        LOG_LEVEL: "warn",
      },
    },
    transcoders: [],
    sink,
    log: () => {},
    stopGraceMs: 10_000,
  });
  const runs: Array<UploadRun & { protocol: UploadProtocol }> = [];
  const jobs = options.sizes.flatMap((bytes) =>
    (options.protocols ?? ["multipart"]).map((protocol) => ({ bytes, protocol })),
  );
  try {
    const api = stack.children().find((child) => child.name === "api");
    if (!api) throw new Error("the stack has no api child");
    for (const { bytes, protocol } of jobs) {
      const before = new Set<string>();
      for await (const object of storage.list("sources/")) before.add(object.key);
      await Bun.sleep(1000);
      const startRssMiB = rssMiB(api.pid);
      let peakRssMiB = startRssMiB;
      let signedInRssMiB: number | null = null;
      let peakSinceSignInMiB = 0;
      const sample = () => {
        const now = rssMiB(api.pid);
        peakRssMiB = Math.max(peakRssMiB, now);
        if (signedInRssMiB !== null) peakSinceSignInMiB = Math.max(peakSinceSignInMiB, now);
        return now;
      };
      const sampler = setInterval(sample, SAMPLE_MS);
      const client = spawn([process.execPath, CLIENT_SCRIPTS[protocol]], {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          UPLOAD_URL: stack.apiUrl,
          UPLOAD_BYTES: String(bytes),
          ADMIN_EMAIL: ADMIN.email,
          ADMIN_PASSWORD: ADMIN.password,
        },
        stdout: "pipe",
        stderr: "pipe",
      });
      let rssAt256MiB: number | null = null;
      let rssAtLastChunk: number | null = null;
      // The client's progress lines, read as they come: signed in, and (tus) each chunk acknowledged.
      const readOutput = async () => {
        let out = "";
        let pending = "";
        for await (const text of client.stdout.pipeThrough(new TextDecoderStream())) {
          out += text;
          const lines = (pending + text).split("\n");
          pending = lines.pop() ?? "";
          for (const line of lines) {
            if (line === '{"signedIn":true}') {
              signedInRssMiB = sample();
              peakSinceSignInMiB = signedInRssMiB;
            }
            const accepted = /^\{"accepted":(\d+)\}$/.exec(line)?.[1];
            if (accepted === undefined) continue;
            if (rssAt256MiB === null && Number(accepted) >= 256 * MiB) rssAt256MiB = rssMiB(api.pid);
            if (Number(accepted) === bytes) rssAtLastChunk = rssMiB(api.pid);
          }
        }
        return out;
      };
      const [out, err, code] = await Promise.all([
        readOutput(),
        new Response(client.stderr).text(),
        client.exited,
      ]);
      clearInterval(sampler);
      const endRssMiB = sample();
      if (code !== 0) throw new Error(`upload client failed (${code}): ${err || out}`);
      const result = JSON.parse(out.trim().split("\n").pop() ?? "{}") as {
        status: number;
        bytes: number;
        seconds: number;
        answer: string;
      };
      if (result.status !== 202) throw new Error(`upload answered ${result.status}: ${result.answer}`);
      const added = [];
      for await (const object of storage.list("sources/")) if (!before.has(object.key)) added.push(object);
      if (added.length !== 1) throw new Error(`expected one new source object, found ${added.length}`);
      const stored = added[0]!;
      if (stored.size !== result.bytes) {
        throw new Error(`${stored.key} holds ${stored.size} bytes, ${result.bytes} were sent`);
      }
      await storage.deletePrefix(stored.key);
      // A tus upload's own objects (its info and completion marker; the parts went at completion).
      await storage.deletePrefix("uploads");
      const run = {
        protocol,
        driver: settings.kind,
        bytes: result.bytes,
        seconds: result.seconds,
        startRssMiB,
        peakRssMiB,
        endRssMiB,
        signedInRssMiB: signedInRssMiB ?? startRssMiB,
        peakSinceSignInMiB: signedInRssMiB === null ? peakRssMiB : peakSinceSignInMiB,
        rssAt256MiB,
        rssAtLastChunk,
        storedBytes: stored.size,
      };
      runs.push(run);
      console.log(
        `${settings.kind.padEnd(5)} ${protocol.padEnd(9)} ${(bytes / 1024 ** 3).toFixed(1)} GiB in ${run.seconds.toFixed(1)} s ` +
          `(${(bytes / MiB / run.seconds).toFixed(0)} MiB/s): api RSS start ${startRssMiB.toFixed(0)} MiB, ` +
          `peak ${peakRssMiB.toFixed(0)}, end ${endRssMiB.toFixed(0)}, peak − start ${(peakRssMiB - startRssMiB).toFixed(0)} MiB; ` +
          `stored object ${stored.size} bytes = sent: yes`,
      );
    }
  } catch (error) {
    const tail = sink.of("api").slice(-20).join("\n");
    throw new Error(`${(error as Error).message}${tail ? `\napi log:\n${tail}` : ""}`);
  } finally {
    await stack.stop();
    await database.drop();
  }
  return runs;
}
