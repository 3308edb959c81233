// A Bun WebSocket client for the tests of GET /api/ws: it records every message and the close, and
// waits for either.
import type { Client, TestApi } from "./test-api.ts";

/** The frontend origin the test apis allow (CORS_ORIGINS). */
export const FRONTEND = "http://frontend.test";

export const cookieOf = (client: Client) =>
  [...client.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
// biome-ignore lint/suspicious/noExplicitAny: messages are checked field by field
export type Message = Record<string, any>;

/** A Bun WebSocket client that records every message and close. */
export class TestSocket {
  private static readonly opened = new Set<TestSocket>();

  /** Closes every socket the tests opened (afterAll). */
  static closeAll(): void {
    for (const socket of TestSocket.opened) socket.close();
    TestSocket.opened.clear();
  }

  readonly messages: Message[] = [];
  closed: { code: number; reason: string } | null = null;
  private readonly ws: WebSocket;
  private readonly listeners = new Set<() => void>();

  constructor(api: TestApi, client: Client | null, origin: string | null = FRONTEND) {
    const headers: Record<string, string> = {};
    if (client) headers.cookie = cookieOf(client);
    if (origin) headers.origin = origin;
    // Bun's WebSocket takes headers (cookies, Origin) as a browser would send them.
    this.ws = new WebSocket(`${api.url.replace("http", "ws")}/api/ws`, { headers } as never);
    this.ws.onmessage = (event) => {
      this.messages.push(JSON.parse(String(event.data)));
      for (const listener of this.listeners) listener();
    };
    this.ws.onclose = (event) => {
      this.closed = { code: event.code, reason: event.reason };
      for (const listener of this.listeners) listener();
    };
    TestSocket.opened.add(this);
  }

  /** Opens and waits for the server's welcome (the socket has joined its topics by then). */
  static async open(api: TestApi, client: Client): Promise<TestSocket> {
    const socket = new TestSocket(api, client);
    await socket.next((m) => m.type === "welcome");
    return socket;
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  /** The first message (received already or within `timeoutMs`) that matches. */
  next(match: (message: Message) => boolean, timeoutMs = 5000): Promise<Message> {
    let seen = 0; // each message is looked at once, however many arrive
    return this.until(
      () => {
        for (; seen < this.messages.length; seen++)
          if (match(this.messages[seen]!)) return this.messages[seen];
        return undefined;
      },
      `a matching message (have ${this.describe()})`,
      timeoutMs,
    );
  }

  waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closed ?? undefined, "the socket to close", timeoutMs);
  }

  close(): void {
    if (this.ws.readyState <= WebSocket.OPEN) this.ws.close();
  }

  private describe(): string {
    return JSON.stringify(this.messages.slice(-5).map((m) => m.type));
  }

  private until<T>(probe: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = probe();
        if (value === undefined) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }
}
