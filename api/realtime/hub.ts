import type { Server, ServerWebSocket } from "bun";
import type Redis from "ioredis";
import type { Logger } from "pino";
import { PROGRESS_CHANNEL, type TranscodeProgress, VIDEO_STATE_CHANNEL } from "../../transcoder/contract.ts";
import type { SessionUser } from "../auth/access-tokens.ts";
import { CloseCodes, SESSION_CHANNEL, type ServerMessage, Topics } from "./protocol.ts";

// biome-ignore lint/suspicious/noExplicitAny: Bun's sockets carry Elysia's context as data
type Socket = ServerWebSocket<any>;

/** What the hub knows of one open socket. */
export interface Connection {
  user: SessionUser;
  expiryTimer: Timer | undefined;
  /** Videos followed one by one (kept while `allUploads` is on, to come back to when it goes off). */
  videos: Set<number>;
  allUploads: boolean;
  /** Heartbeats in the current rate window, and when it started. */
  progressCount: number;
  progressWindowStart: number;
}

const STAGES = new Set(["queued", "probing", "encoding", "verifying", "thumbnails", "publishing"]);

/**
 * One per api replica: subscribes its Redis connection to the progress, state and session channels
 * once, and turns every message into one `server.publish` on a Bun topic, which fans out natively to
 * the sockets of this replica that joined it. Every replica does the same, so a client receives every
 * event it is entitled to whichever replica it is connected to and whichever the event reached.
 */
export class RealtimeHub {
  private server: Server<unknown> | undefined;
  private readonly connections = new Map<Socket, Connection>();
  private readonly byUser = new Map<number, Set<Socket>>();

  constructor(private readonly log: Logger) {}

  /** Subscribes the (dedicated, subscriber-mode) Redis connection; ioredis resubscribes on reconnect. */
  async listen(subscriber: Redis): Promise<void> {
    subscriber.on("message", (channel: string, message: string) => this.onRedisMessage(channel, message));
    await subscriber.subscribe(PROGRESS_CHANNEL, VIDEO_STATE_CHANNEL, SESSION_CHANNEL);
  }

  get size(): number {
    return this.connections.size;
  }

  connectionOf(ws: Socket): Connection | undefined {
    return this.connections.get(ws);
  }

  add(ws: Socket, server: Server<unknown>, user: SessionUser, expiresInMs: number): Connection {
    this.server ??= server;
    const connection: Connection = {
      user,
      expiryTimer: undefined,
      videos: new Set(),
      allUploads: false,
      progressCount: 0,
      progressWindowStart: 0,
    };
    // setTimeout takes at most 2^31-1 ms; access tokens live minutes.
    connection.expiryTimer = setTimeout(
      () => ws.close(CloseCodes.sessionExpired, "session expired"),
      Math.min(Math.max(expiresInMs, 0), 2 ** 31 - 1),
    );
    this.connections.set(ws, connection);
    const sockets = this.byUser.get(user.id) ?? new Set();
    this.byUser.set(user.id, sockets.add(ws));
    ws.subscribe(Topics.videos);
    if (user.isAdmin) ws.subscribe(Topics.admins);
    return connection;
  }

  remove(ws: Socket): void {
    const connection = this.connections.get(ws);
    if (!connection) return;
    clearTimeout(connection.expiryTimer);
    this.connections.delete(ws);
    const sockets = this.byUser.get(connection.user.id);
    sockets?.delete(ws);
    if (sockets?.size === 0) this.byUser.delete(connection.user.id);
  }

  /**
   * Graceful shutdown, before the server stops (Bun's stop waits for open sockets): every socket is
   * closed with 1001 so clients reconnect to another replica; those that do not finish the closing
   * handshake within `graceMs` are cut.
   */
  async closeAll(graceMs = 2000): Promise<void> {
    for (const ws of [...this.connections.keys()]) ws.close(CloseCodes.goingAway, "server shutting down");
    const deadline = Date.now() + graceMs;
    while (this.connections.size > 0 && Date.now() < deadline) await Bun.sleep(20);
    for (const ws of [...this.connections.keys()]) {
      ws.terminate();
      this.remove(ws);
    }
  }

  private onRedisMessage(channel: string, text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.log.warn({ channel }, "ignoring a non-JSON realtime message");
      return;
    }
    if (typeof message !== "object" || message === null) return;
    if (channel === PROGRESS_CHANNEL) this.onProgress(message as Partial<TranscodeProgress>);
    else if (channel === VIDEO_STATE_CHANNEL) this.onVideoState(message as Record<string, unknown>);
    else if (channel === SESSION_CHANNEL) this.onSessionEvent(message as Record<string, unknown>);
  }

  private onProgress(tick: Partial<TranscodeProgress>): void {
    const { videoId, revision, stage, percent, etaSeconds, at } = tick;
    if (!isId(videoId) || typeof percent !== "number" || !Number.isFinite(percent)) return;
    if (typeof stage !== "string" || !STAGES.has(stage)) return;
    const message = JSON.stringify({
      type: "video.progress",
      id: videoId,
      revision: isId(revision) ? revision : 0,
      state: stage === "queued" ? "pending" : "processing",
      percent: Math.round(Math.min(Math.max(percent, 0), 100) * 10) / 10,
      stage,
      eta_seconds: typeof etaSeconds === "number" && Number.isFinite(etaSeconds) ? etaSeconds : null,
      // Passed through so that clients can measure delivery latency (transcoder clock, epoch ms).
      at: typeof at === "number" && Number.isFinite(at) ? at : null,
    } satisfies ServerMessage);
    // An admin is in at most one of the two topics (see subscribe), so nobody gets a tick twice.
    this.publish(Topics.video(videoId), message);
    this.publish(Topics.allUploads, message);
  }

  private onVideoState(event: Record<string, unknown>): void {
    const id = event.id;
    if (!isId(id)) return;
    switch (event.type) {
      case "video.state":
        if (event.state === "ready") this.send(Topics.videos, { type: "video.ready", id });
        else if (event.state === "processing" || event.state === "error")
          this.send(Topics.admins, {
            type: "video.updated",
            id,
            state: event.state,
            processing_error: typeof event.processing_error === "string" ? event.processing_error : null,
          });
        return;
      case "video.updated":
        this.send(Topics.videos, { type: "video.updated", id });
        return;
      case "video.deleted":
        this.send(Topics.videos, { type: "video.deleted", id });
        return;
    }
  }

  private onSessionEvent(event: Record<string, unknown>): void {
    if (event.type !== "session.revoked" || !isId(event.user_id)) return;
    const sockets = this.byUser.get(event.user_id);
    if (!sockets) return;
    for (const ws of [...sockets]) ws.close(CloseCodes.sessionRevoked, "session revoked");
  }

  private send(topic: string, message: ServerMessage): void {
    this.publish(topic, JSON.stringify(message));
  }

  private publish(topic: string, message: string): void {
    // Bun skips subscribers over the backpressure limit and closes them (closeOnBackpressureLimit).
    this.server?.publish(topic, message);
  }
}

const isId = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0;
