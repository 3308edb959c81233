import type { Server, ServerWebSocket } from "bun";
import type { ConnectionErrorLog } from "../../connections/error-log.ts";
import { progressChannel, type TranscodeProgress } from "../../contract/progress.ts";
import { type SessionEvent, sessionEvents } from "../../contract/sessions.ts";
import { type VideoChange, videoChanges } from "../../contract/video-changes.ts";
import { REVOCATION_RECHECK_MS, type RevocationCheck, type SessionUser } from "../auth/session.ts";
import type { EventBus } from "../shared/event-bus.ts";
import { presentPasses } from "../shared/progress-passes.ts";
import { CloseCodes, type ServerMessage, Topics } from "./model.ts";

// biome-ignore lint/suspicious/noExplicitAny: Bun's sockets carry Elysia's context as data
type Socket = ServerWebSocket<any>;

/** What the hub knows of one open socket. */
export interface Connection {
  user: SessionUser;
  expiryTimer: Timer | undefined;
  /** Asks Redis or PostgreSQL again whether the session was revoked (an announcement may be lost). */
  recheckTimer: Timer | undefined;
  /** Videos followed one by one (kept while `allUploads` is on, to come back to when it goes off). */
  videos: Set<number>;
  allUploads: boolean;
  /** Heartbeats in the current rate window, and when it started. */
  progressCount: number;
  progressWindowStart: number;
}

/** Sockets re-checked at once after a gap in the subscription, so the database is not flooded. */
const RECHECK_BATCH = 50;

/**
 * One per api replica: takes the progress, video-change and revocation messages from the event bus (one
 * Redis subscription per replica), and turns every message into one `server.publish` on a Bun topic, which fans out natively to
 * the sockets of this replica that joined it. Every replica does the same, so a client receives every
 * event it is entitled to whichever replica it is connected to and whichever the event reached.
 */
export class RealtimeHub {
  private server: Server<unknown> | undefined;
  private readonly connections = new Map<Socket, Connection>();
  private readonly byUser = new Map<number, Set<Socket>>();

  constructor(
    private readonly deps: {
      bus: EventBus;
      revocations: RevocationCheck;
      connectionErrors: ConnectionErrorLog;
      recheckMs?: number;
    },
  ) {}

  /** Starts fanning out what the bus delivers. */
  listen(): void {
    const { bus } = this.deps;
    bus.on(progressChannel, (tick) => this.onProgress(tick));
    bus.on(videoChanges, (change) => this.onVideoChange(change));
    bus.on(sessionEvents, (event) => this.onSessionEvent(event));
    // A revocation published while the subscriber was away was not heard: ask where it is kept.
    bus.onResubscribed(() => void this.recheckAll());
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
      recheckTimer: undefined,
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
    connection.recheckTimer = setInterval(
      () => void this.recheck(ws),
      this.deps.recheckMs ?? REVOCATION_RECHECK_MS,
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
    clearInterval(connection.recheckTimer);
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

  private onProgress(tick: TranscodeProgress): void {
    const { videoId, revision, attempt, stage, percent, etaSeconds, at } = tick;
    const passes = presentPasses(tick);
    if (!Number.isFinite(percent)) return;
    const message = JSON.stringify({
      type: "video.progress",
      id: videoId,
      revision,
      state: stage === "queued" ? "pending" : "processing",
      percent: Math.round(Math.min(Math.max(percent, 0), 100) * 10) / 10,
      stage,
      eta_seconds: etaSeconds !== null && Number.isFinite(etaSeconds) ? etaSeconds : null,
      // Passed through so that clients can measure delivery latency (transcoder clock, epoch ms).
      at: at !== undefined && Number.isFinite(at) ? at : null,
      // Which run of the job sent it (the farm tells a new run's ticks from a dead one's); older
      // transcoders send none.
      ...(attempt !== undefined ? { attempt } : {}),
      ...(passes ? { passes } : {}),
    } satisfies ServerMessage);
    // An admin is in at most one of the two topics (see subscribe), so nobody gets a tick twice.
    this.publish(Topics.video(videoId), message);
    this.publish(Topics.allUploads, message);
  }

  private onVideoChange(change: VideoChange): void {
    const { id } = change;
    switch (change.type) {
      case "video.state":
        if (change.state === "ready") this.send(Topics.videos, { type: "video.ready", id });
        else
          this.send(Topics.admins, {
            type: "video.updated",
            id,
            state: change.state,
            processing_error: change.processing_error,
          });
        return;
      case "video.playable":
        // Every signed-in client: the video is listed and can be played now (a fast-start rendition).
        this.send(Topics.videos, { type: "video.playable", id, revision: change.revision });
        return;
      case "video.updated":
        this.send(Topics.videos, { type: "video.updated", id });
        return;
      case "video.deleted":
        this.send(Topics.videos, { type: "video.deleted", id });
        return;
      case "category.updated":
        this.send(Topics.videos, { type: "category.updated", id });
        return;
      case "video.created":
        // Admins only (viewers never see unpublished work): a studio open in another tab, or another
        // admin's, shows an upload (multipart, tus, a direct upload) the moment it becomes a video.
        this.send(Topics.admins, { type: "video.created", id, revision: change.revision });
        return;
    }
  }

  /**
   * A revocation (published by api/auth's RevocationEpochs on any replica): the sockets opened with a
   * token it covers close with 4003; the user's other sessions, and tokens signed after it, stay open.
   */
  private onSessionEvent(event: SessionEvent): void {
    const sockets = this.byUser.get(event.user_id);
    if (!sockets) return;
    for (const ws of [...sockets]) {
      const user = this.connections.get(ws)?.user;
      const covered =
        event.type === "session.revoked"
          ? user?.sessionId === event.session_id
          : (user?.userEpoch ?? 0) < event.epoch;
      if (covered) ws.close(CloseCodes.sessionRevoked, "session revoked");
    }
  }

  /** Closes the socket with 4003 if its session was revoked; kept open when that cannot be told. */
  private async recheck(ws: Socket): Promise<void> {
    const connection = this.connections.get(ws);
    if (!connection) return;
    try {
      if (await this.deps.revocations.isRevoked(connection.user))
        ws.close(CloseCodes.sessionRevoked, "session revoked");
    } catch (error) {
      this.deps.connectionErrors.report("realtime revocation check", error);
    }
  }

  private async recheckAll(): Promise<void> {
    const sockets = [...this.connections.keys()];
    for (let start = 0; start < sockets.length; start += RECHECK_BATCH)
      await Promise.all(sockets.slice(start, start + RECHECK_BATCH).map((ws) => this.recheck(ws)));
  }

  private send(topic: string, message: ServerMessage): void {
    this.publish(topic, JSON.stringify(message));
  }

  private publish(topic: string, message: string): void {
    // Bun skips subscribers over the backpressure limit and closes them (closeOnBackpressureLimit).
    this.server?.publish(topic, message);
  }
}
