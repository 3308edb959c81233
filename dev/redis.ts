// The Redis of a local stack: the server already answering at its URL, or a redis-server started for
// the stack (persistent under a data folder for `npm run up`, throwaway for the load tests).
import { relative } from "node:path";
import type { ChildSpec } from "./child.ts";
import { portOpen, redisAnswers } from "./probes.ts";

export interface RedisSpec {
  url: string;
  /** Start a redis-server on the URL's host and port when nothing answers there. */
  startIfMissing: boolean;
  /** Keep its data (append-only file and log) here; without it the server keeps nothing on disk. */
  dataDir?: string;
}

export type RedisPlan =
  | { kind: "use-running"; message: string }
  | { kind: "start"; child: ChildSpec; message: string };

export function redisAddress(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname || "127.0.0.1", port: Number(parsed.port || 6379) };
}

/** Decides whether the stack needs a redis-server of its own; throws when the port holds something else. */
export async function planRedis(spec: RedisSpec, cwd: string): Promise<RedisPlan> {
  const { host, port } = redisAddress(spec.url);
  if (!spec.startIfMissing) return { kind: "use-running", message: "using REDIS_URL from the environment" };
  if (await redisAnswers(host, port)) {
    return { kind: "use-running", message: `using the Redis server already running on ${host}:${port}` };
  }
  if (await portOpen(host, port)) {
    throw new Error(`something that is not Redis listens on ${host}:${port}; stop it or set REDIS_URL`);
  }
  const binary = Bun.which("redis-server");
  if (!binary) throw new Error("redis-server is not installed (bash infra/setup.sh up installs it)");
  // noeviction: BullMQ's queues must never be evicted; appendonly: jobs survive a restart.
  const storage = spec.dataDir
    ? ["--dir", spec.dataDir, "--appendonly", "yes", "--logfile", `${spec.dataDir}/redis.log`]
    : ["--save", "", "--appendonly", "no"];
  return {
    kind: "start",
    message: `starting redis-server on ${host}:${port}${spec.dataDir ? ` (data in ${shown(spec.dataDir)})` : ""}`,
    child: {
      name: "redis",
      command: [
        binary,
        "--bind",
        host,
        "--port",
        String(port),
        "--maxmemory-policy",
        "noeviction",
        ...storage,
      ],
      cwd,
      env: { PATH: process.env.PATH },
    },
  };
}

/** ./var/redis rather than the absolute path, when it is under the working directory. */
function shown(dir: string): string {
  const inside = relative(process.cwd(), dir);
  return inside && !inside.startsWith("..") ? `./${inside}` : dir;
}
