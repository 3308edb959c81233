// Is it up yet? Small probes of TCP ports, Redis and HTTP endpoints, and the wait loop around them.
import { connect } from "node:net";

/** True when anything accepts TCP connections at host:port. */
export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** True when a Redis server answers PING at host:port (no client library: one RESP round trip). */
export function redisAnswers(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let reply = "";
    const done = (answers: boolean) => {
      socket.destroy();
      resolve(answers);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString("latin1");
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
    socket.once("error", () => done(false));
    socket.once("end", () => done(false));
  });
}

/** True when GET url answers 2xx; `anyCertificate` takes an https server's certificate unchecked. */
export async function httpOk(
  url: string,
  timeoutMs = 2000,
  options: { anyCertificate?: boolean } = {},
): Promise<boolean> {
  try {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "manual",
      ...(options.anyCertificate ? { tls: { rejectUnauthorized: false } } : {}),
    });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

export interface WaitOptions {
  timeoutMs: number;
  /** Checked between probes: a reason to give up at once (the process being waited for died). */
  giveUp?: () => string | null;
  intervalMs?: number;
}

/** Probes until it answers true; throws naming `what` when it does not in time or `giveUp` says so. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  options: WaitOptions,
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const reason = options.giveUp?.();
    if (reason) throw new Error(`${what}: ${reason}`);
    if (await probe()) return;
    if (Date.now() > deadline) {
      throw new Error(`${what}: no answer within ${Math.round(options.timeoutMs / 1000)} s`);
    }
    await Bun.sleep(options.intervalMs ?? 100);
  }
}
