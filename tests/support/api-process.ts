// The api as its own process (`bun api/main.ts`), for what only a process shows: a replica on the stores
// of a test api (its database, Redis and media root) behind the edge, frozen (SIGSTOP), killed (SIGKILL)
// mid-request, started again on its port and asked through its own request log which requests it
// answered; and its resident memory (/proc/<pid>/status) or a restart that ends everything it held.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import { freePort } from "../../dev/services.ts";
import { eventually } from "./eventually.ts";
import { TEST_JWT_SECRET, type TestApi } from "./test-api.ts";

const ROOT = join(import.meta.dir, "../..");
const running = new Set<Subprocess>();

/** One line of the api's request log (api/http/request-log.ts). */
export interface LoggedRequest {
  req_id: string;
  method: string;
  path: string;
  status: number;
}

export interface ApiProcess {
  name: string;
  port: number;
  url: string;
  pid: number;
  /** The requests this process logged so far, in order. */
  requests(): LoggedRequest[];
  /** Everything it wrote (stdout and stderr), for failure messages. */
  output(): string;
  /** SIGSTOP: it keeps its sockets, so what is sent to it waits in the kernel, unread. */
  freeze(): void;
  /** SIGKILL, as a crash or an OOM kill would; resolves once it is gone. */
  kill9(): Promise<void>;
  /** SIGTERM (the graceful shutdown) and wait for it. */
  stop(): Promise<number>;
}

/** Starts a replica of `shared` on `port` and resolves once its /ready answers 200. */
export function startApiProcess(
  shared: TestApi,
  name: string,
  port: number,
  env: Record<string, string> = {},
): Promise<ApiProcess> {
  const { config } = shared;
  return spawnApi(name, port, {
    DATABASE_URL: config.databaseUrl as string,
    REDIS_URL: config.redisUrl,
    MEDIA_ROOT: config.mediaRoot,
    MAIL_DIR: config.mailDir,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: "info",
    ...env,
  });
}

/** An api on `env` alone (its stores named there), on a free loopback port with its PUBLIC_URL. */
export async function startStandaloneApiProcess(env: Record<string, string>): Promise<ApiProcess> {
  const port = await freePort();
  return spawnApi("api", port, { PUBLIC_URL: `http://127.0.0.1:${port}`, LOG_LEVEL: "warn", ...env });
}

async function spawnApi(name: string, port: number, env: Record<string, string>): Promise<ApiProcess> {
  const child = spawn([process.execPath, "api/main.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      NODE_ENV: "test",
      HOST: "127.0.0.1",
      PORT: String(port),
      ...env,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  running.add(child);
  let text = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  void collect(child.stdout);
  void collect(child.stderr);
  const url = `http://127.0.0.1:${port}`;
  const gone = async () => {
    await child.exited;
    running.delete(child);
  };
  const stop = async () => {
    // A frozen process would never see SIGTERM's handler run.
    child.kill("SIGCONT");
    child.kill("SIGTERM");
    await gone();
    return child.exitCode ?? -1;
  };
  await eventually(
    `api ${name} ready on ${port}`,
    async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited ${child.exitCode}: ${text.slice(-2000)}`);
      return (await fetch(`${url}/ready`).catch(() => null))?.status === 200 || undefined;
    },
    60_000,
  ).catch(async (error: Error) => {
    await stop();
    throw error;
  });
  return {
    name,
    port,
    url,
    pid: child.pid,
    requests: () =>
      text
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as LoggedRequest & { msg?: string })
        .filter((line) => line.msg === "request"),
    output: () => text,
    freeze: () => child.kill("SIGSTOP"),
    async kill9() {
      child.kill("SIGKILL");
      await gone();
    },
    stop,
  };
}

/** Kills the replicas a test left running; called from the test preload. */
export async function killAllApiProcesses(): Promise<void> {
  for (const child of running) child.kill("SIGKILL");
  await Promise.all([...running].map((child) => child.exited));
  running.clear();
}

/**
 * Bytes sent to `port` on 127.0.0.1 that no process has read yet (the receive queues of its accepted
 * connections, from /proc/net/tcp): non-zero once a request reached a frozen process.
 */
export function unreadBytesAt(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  let unread = 0;
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    // local_address rem_address st tx_queue:rx_queue …; st 01 is ESTABLISHED.
    if (fields[1] !== local || fields[3] !== "01") continue;
    unread += Number.parseInt(fields[4]!.split(":")[1]!, 16);
  }
  return unread;
}

/**
 * Freezes the replica now and SIGKILLs it once a request sent to it waits unread (`unreadBytesAt`):
 * a crash with that request in flight, whatever the request. Resolves with the bytes left unread.
 */
export async function killWithRequestInFlight(replica: ApiProcess, timeoutMs = 30_000): Promise<number> {
  replica.freeze();
  await eventually(
    `a request waiting in the frozen replica ${replica.name}`,
    async () => unreadBytesAt(replica.port) > 0,
    timeoutMs,
  );
  const unread = unreadBytesAt(replica.port);
  await replica.kill9();
  return unread;
}

/** A process's resident set (VmRSS), in MiB. */
export function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}
