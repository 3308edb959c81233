// A browser-like client of the api, and the account it signs in with: shared by the tests and the
// benchmarks, which talk to a real api over HTTP (the load-test seeding has its own, seed/api-client.ts).
import type { SmtpCapture } from "./smtp-capture.ts";

/** What signing up needs of an api: where it listens and the SMTP capture its mails go to. */
export interface ApiWithMailbox {
  url: string;
  smtp: SmtpCapture;
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
  api: ApiWithMailbox,
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

export async function loggedInClient(api: ApiWithMailbox, email?: string): Promise<Client> {
  const account = await createActiveUser(api, email);
  const client = new Client(api.url);
  const response = await client.post("/api/login/", account);
  if (response.status !== 200) throw new Error(`login failed: ${response.status}`);
  return client;
}
