// The suite's admin, talking to the api over HTTP as the SPA does: uploads, video reads, heartbeats.
// The session (cookies, JWT secret, refresh rows) outlives api restarts, so one login serves the run.
import { Client } from "../../dev/browser-client.ts";
import { ADMIN } from "./farm.ts";

export type ProcessingState = "pending" | "processing" | "ready" | "error";

export interface VideoView {
  id: number;
  processing_state: ProcessingState;
  processing_error: string | null;
  progress: { stage: string; percent: number };
}

export interface PartialUpload {
  /** The api's answer; null when the connection broke first. */
  answer: Promise<Response | null>;
  send(bytes: Uint8Array): void;
  finish(): void;
  abort(): void;
}

export class AdminSession {
  private constructor(
    readonly apiUrl: string,
    private readonly client: Client,
  ) {}

  static async login(apiUrl: string): Promise<AdminSession> {
    const client = new Client(apiUrl);
    const response = await client.post("/api/login/", ADMIN);
    if (response.status !== 200) throw new Error(`admin login: ${response.status} ${await response.text()}`);
    return new AdminSession(apiUrl, client);
  }

  /** The headers of this browser session: cookies, the CSRF echo, its own client address. */
  headers(): Record<string, string> {
    const headers: Record<string, string> = { "x-forwarded-for": this.client.ip };
    headers.cookie = [...this.client.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    const csrf = this.client.cookies.get("csrftoken");
    if (csrf) headers["x-csrftoken"] = csrf;
    return headers;
  }

  /** POST /api/admin/videos with `file`; the answer as it came. */
  upload(file: Blob, title: string, signal?: AbortSignal): Promise<Response> {
    const form = new FormData();
    form.append("title", title);
    form.append("category", "Chaos");
    form.append("file", file, "clip.mp4");
    return fetch(`${this.apiUrl}/api/admin/videos`, {
      method: "POST",
      body: form,
      headers: this.headers(),
      signal,
    });
  }

  /**
   * An upload whose file the caller sends piece by piece (a slow client): the multipart head goes at
   * once, then each `send`; `finish` closes the body, `abort` cuts the connection.
   */
  startUpload(title: string): PartialUpload {
    const boundary = `chaos${crypto.randomUUID().replaceAll("-", "")}`;
    const head =
      `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n${title}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="category"\r\n\r\nChaos\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\n` +
      "Content-Type: video/mp4\r\n\r\n";
    let body!: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        body = controller;
        controller.enqueue(new TextEncoder().encode(head));
      },
    });
    const client = new AbortController();
    const answer = fetch(`${this.apiUrl}/api/admin/videos`, {
      method: "POST",
      body: stream,
      headers: { ...this.headers(), "content-type": `multipart/form-data; boundary=${boundary}` },
      signal: client.signal,
      duplex: "half",
    } as RequestInit).catch(() => null);
    return {
      answer,
      send: (bytes) => body.enqueue(bytes),
      finish: () => {
        body.enqueue(new TextEncoder().encode(`\r\n--${boundary}--\r\n`));
        body.close();
      },
      abort: () => client.abort(),
    };
  }

  async video(id: number): Promise<VideoView> {
    const response = await this.client.get(`/api/admin/videos/${id}`);
    if (response.status !== 200)
      throw new Error(`GET video ${id}: ${response.status} ${await response.text()}`);
    return (await response.json()) as VideoView;
  }

  /** A player heartbeat; `sentAt` orders them (the latest wins). */
  heartbeat(
    videoId: number,
    positionSeconds: number,
    sentAt: number,
    signal?: AbortSignal,
  ): Promise<Response> {
    return fetch(`${this.apiUrl}/api/progress/${videoId}`, {
      method: "PUT",
      body: JSON.stringify({ position_seconds: positionSeconds, sent_at: sentAt }),
      headers: { ...this.headers(), "content-type": "application/json" },
      signal,
    });
  }

  get(path: string, signal?: AbortSignal): Promise<Response> {
    return fetch(`${this.apiUrl}${path}`, { headers: this.headers(), signal });
  }
}
