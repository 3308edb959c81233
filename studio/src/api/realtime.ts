// The studio's WebSocket (GET /api/ws, docs/realtime.md): follows every upload's progress
// (`subscribe all_uploads`) and hands each event to the listener. Reconnects with a growing delay; an
// expired token (4001, or an upgrade refused before any welcome) is refreshed first; a revoked session
// (4003) ends the session instead. After a reconnect the listener is told to read the list again, since
// events sent while the socket was away are gone.
import type { ApiClient } from "./http.ts";
import type { RealtimeEvent } from "./types.ts";

export type FeedStatus = "connecting" | "live" | "offline";

const TOKEN_EXPIRED = 4001;
const SESSION_REVOKED = 4003;
const MAX_DELAY_MS = 15_000;

export interface FeedListener {
  event(event: RealtimeEvent): void;
  status(status: FeedStatus): void;
  /** The socket is back after a gap: whatever happened meanwhile was missed. */
  resumed(): void;
}

export class LibraryFeed {
  private socket: WebSocket | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  private everLive = false;
  private closed = false;

  constructor(
    private readonly api: ApiClient,
    private readonly listener: FeedListener,
  ) {}

  start(): void {
    this.closed = false;
    this.connect();
  }

  stop(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.socket?.close(1000, "studio closed");
    this.socket = null;
  }

  private connect(): void {
    const url = new URL("/api/ws", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    this.listener.status("connecting");
    const socket = new WebSocket(url);
    this.socket = socket;
    let welcomed = false;
    socket.onmessage = (message) => {
      const event = parse(message.data);
      if (!event) return;
      if (event.type === "welcome") {
        welcomed = true;
        this.failures = 0;
        socket.send(JSON.stringify({ type: "subscribe", all_uploads: true }));
        this.listener.status("live");
        if (this.everLive) this.listener.resumed();
        this.everLive = true;
        return;
      }
      this.listener.event(event);
    };
    socket.onclose = (close) => {
      if (this.socket !== socket || this.closed) return;
      this.socket = null;
      this.listener.status("offline");
      if (close.code === SESSION_REVOKED) {
        this.api.sessionEnded();
        return;
      }
      void this.reconnect(close.code === TOKEN_EXPIRED || !welcomed);
    };
  }

  private async reconnect(refreshFirst: boolean): Promise<void> {
    // A refused refresh ends the session; an api that is away is tried again later.
    if (refreshFirst && (await this.api.refresh()) === "refused") {
      this.api.sessionEnded();
      return;
    }
    const delay = Math.min(MAX_DELAY_MS, 500 * 2 ** this.failures);
    this.failures++;
    this.retryTimer = setTimeout(() => {
      if (!this.closed) this.connect();
    }, delay);
  }
}

function parse(data: unknown): RealtimeEvent | null {
  if (typeof data !== "string") return null;
  try {
    const value = JSON.parse(data) as { type?: unknown };
    return typeof value?.type === "string" ? (value as RealtimeEvent) : null;
  } catch {
    return null;
  }
}
