// Starts the real api (the same runtime main.ts starts) on real PostgreSQL, Redis and an SMTP capture
// server, listening on a loopback port.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { type Config, loadConfig } from "../../api/config/load.ts";
import { type ApiRuntime, startApiRuntime } from "../../api/runtime.ts";
import { createMailer } from "../../emails/mailer.ts";
import { createTestDatabase, testRedisUrl } from "./services.ts";
import { type SmtpCapture, startSmtpCapture } from "./smtp-capture.ts";

export const TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789";

export interface TestApi {
  url: string;
  config: Config;
  runtime: ApiRuntime;
  database: ApiRuntime["database"];
  redis: ApiRuntime["redis"];
  smtp: SmtpCapture;
  /** Moves the api's clock (token expiry) forward or back, in seconds. */
  shiftClock(seconds: number): void;
  stop(): Promise<void>;
}

export interface TestApiOptions {
  /** Consume transcoder state events (default true). */
  consumeEvents?: boolean;
  /** Reuse another test api's database and media root (a second replica). */
  shareWith?: TestApi;
}

export async function startTestApi(
  env: Record<string, string> = {},
  options: TestApiOptions = {},
): Promise<TestApi> {
  const shared = options.shareWith;
  const [testDb, redisUrl, smtp] = await Promise.all([
    shared ? null : createTestDatabase(),
    shared ? shared.config.redisUrl : testRedisUrl(),
    startSmtpCapture(),
  ]);
  const mediaRoot = shared ? shared.config.mediaRoot : mkdtempSync(join(tmpdir(), "vf-media-"));
  const config = loadConfig({
    NODE_ENV: "test",
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_URL: shared ? (shared.config.databaseUrl as string) : testDb!.url,
    REDIS_URL: redisUrl,
    SMTP_URL: smtp.url,
    JWT_SECRET: TEST_JWT_SECRET,
    FRONTEND_URL: "http://frontend.test",
    CORS_ORIGINS: "http://frontend.test",
    TRUST_PROXY: "true",
    MEDIA_ROOT: mediaRoot,
    ...env,
  });
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const mailer = createMailer({ smtpUrl: smtp.url, from: config.mailFrom, mailDir: config.mailDir, log });
  let offsetMs = 0;
  const clock = { now: () => new Date(Date.now() + offsetMs) };
  const runtime = await startApiRuntime({ config, log, mailer, clock, consumeEvents: options.consumeEvents });
  runtime.app.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${runtime.app.server!.port}`;
  return {
    url,
    config,
    runtime,
    database: runtime.database,
    redis: runtime.redis,
    smtp,
    shiftClock: (seconds) => {
      offsetMs += seconds * 1000;
    },
    stop: async () => {
      await runtime.stop();
      await smtp.close();
      if (testDb) await testDb.drop();
      if (!shared) rmSync(mediaRoot, { recursive: true, force: true });
    },
  };
}

// Random per process, so that runs against a shared TEST_REDIS_URL never meet each other's rate limits.
let nextClient = Math.floor(Math.random() * 2 ** 22);

/**
 * A browser-like client: keeps cookies (honouring Max-Age=0 deletions), echoes `csrftoken` in
 * X-CSRFToken as the SPA does, and comes from its own address (X-Forwarded-For) so that rate limits
 * of one test never touch another.
 */
export class Client {
  readonly cookies = new Map<string, string>();
  readonly ip: string;
  sendCsrfHeader = true;

  constructor(
    private readonly baseUrl: string,
    readonly origin?: string,
  ) {
    const n = nextClient++;
    this.ip = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`.replace(/\.0$/, ".1");
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const allHeaders: Record<string, string> = { "x-forwarded-for": this.ip, ...headers };
    if (this.origin) allHeaders.origin = this.origin;
    if (this.cookies.size > 0) {
      allHeaders.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    }
    const csrf = this.cookies.get("csrftoken");
    if (this.sendCsrfHeader && csrf && !("x-csrftoken" in headers)) allHeaders["x-csrftoken"] = csrf;
    let payload: BodyInit | undefined;
    if (typeof body === "string") payload = body;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      allHeaders["content-type"] ??= "application/json";
    }
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: allHeaders,
      body: payload,
      redirect: "manual",
    });
    for (const line of response.headers.getSetCookie()) {
      const cookie = parseSetCookie(line);
      if (cookie.maxAge === 0 || cookie.value === "") this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
    return response;
  }

  get = (path: string, headers?: Record<string, string>) => this.request("GET", path, undefined, headers);
  post = (path: string, body?: unknown, headers?: Record<string, string>) =>
    this.request("POST", path, body, headers);
}

export interface SetCookie {
  name: string;
  value: string;
  maxAge?: number;
  attributes: Record<string, string | true>;
}

export function parseSetCookie(line: string): SetCookie {
  const [pair = "", ...rest] = line.split(";");
  const eq = pair.indexOf("=");
  const attributes: Record<string, string | true> = {};
  for (const part of rest) {
    const [key = "", ...value] = part.trim().split("=");
    attributes[key.toLowerCase()] = value.length ? value.join("=") : true;
  }
  const maxAge = typeof attributes["max-age"] === "string" ? Number(attributes["max-age"]) : undefined;
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), maxAge, attributes };
}

export const uniqueEmail = (label = "user") => `${label}-${crypto.randomUUID().slice(0, 8)}@example.com`;
export const STRONG_PASSWORD = "violet-Harbour-42-lantern";

/** Registers, follows the activation mail and returns the activated account's credentials. */
export async function createActiveUser(
  api: TestApi,
  email = uniqueEmail(),
): Promise<{ email: string; password: string }> {
  const client = new Client(api.url);
  const response = await client.post("/api/register/", {
    email,
    password: STRONG_PASSWORD,
    confirmed_password: STRONG_PASSWORD,
  });
  if (response.status !== 201)
    throw new Error(`register failed: ${response.status} ${await response.text()}`);
  const mail = await api.smtp.waitForMail((m) => m.to.includes(email) && m.subject.includes("Activate"));
  const link = new URL(mail.links.find((l) => l.includes("activate"))!);
  const activated = await client.get(
    `/api/activate/${link.searchParams.get("uid")}/${link.searchParams.get("token")}/`,
  );
  if (activated.status !== 200) throw new Error(`activation failed: ${activated.status}`);
  return { email, password: STRONG_PASSWORD };
}

export async function loggedInClient(api: TestApi, email?: string): Promise<Client> {
  const account = await createActiveUser(api, email);
  const client = new Client(api.url);
  const response = await client.post("/api/login/", account);
  if (response.status !== 200) throw new Error(`login failed: ${response.status}`);
  return client;
}
