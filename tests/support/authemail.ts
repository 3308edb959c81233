// The authemail dialect's client as its Angular frontend (enesesine/VideoflixFrontend) behaves: JSON to
// `<backend>/compat/authemail/api/accounts/…` and `<backend>/compat/authemail/api/…` from its own origin,
// `Authorization: Token <key>` on every call but the open account ones, no cookies, no CSRF header.
import { expect } from "bun:test";
import type { CapturedMail } from "../../dev/smtp-capture.ts";
import { Client, STRONG_PASSWORD, type TestApi, uniqueEmail } from "./test-api.ts";

export const AUTHEMAIL_API = "/compat/authemail/api";
export const AUTHEMAIL_ACCOUNTS = `${AUTHEMAIL_API}/accounts`;
export const AUTHEMAIL_FRONTEND = "http://authemail.frontend.test";
export const AUTHEMAIL_ENV = {
  COMPAT_DIALECTS: "authemail",
  COMPAT_AUTHEMAIL_FRONTEND_URL: AUTHEMAIL_FRONTEND,
  CORS_ORIGINS: `http://frontend.test,${AUTHEMAIL_FRONTEND}`,
} as const;

// The frontend's interceptor leaves these without the Token header (its open list).
const OPEN =
  /\/api\/accounts\/(signup|signup\/verify|login|password\/reset|password\/reset\/verify|password\/reset\/verified)\/?$/;

/** A browser on the authemail frontend's origin; `token` plays its localStorage `videoflix_token`. */
export class AuthemailClient {
  readonly http: Client;
  token: string | null = null;

  constructor(api: TestApi) {
    this.http = new Client(api.url, AUTHEMAIL_FRONTEND);
  }

  /** A call to a path under `/compat/authemail/api`, with the Token header where the interceptor adds it. */
  send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const url = `${AUTHEMAIL_API}${path}`;
    const open = OPEN.test(url.split("?")[0]!);
    const auth: Record<string, string> = this.token && !open ? { authorization: `Token ${this.token}` } : {};
    return this.http.request(method, url, body, { ...auth, ...headers });
  }

  get = (path: string, headers?: Record<string, string>) => this.send("GET", path, undefined, headers);
  post = (path: string, body?: unknown, headers?: Record<string, string>) =>
    this.send("POST", path, body, headers);

  async login(email: string, password: string): Promise<string> {
    const response = await this.post("/accounts/login/", { email, password });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    const body = JSON.parse(text) as { token: string };
    expect(Object.keys(body)).toEqual(["token"]);
    this.token = body.token;
    return body.token;
  }
}

/** The `code` of an authemail frontend link such as `…/email-verify?code=<code>`. */
export function authemailCode(mail: CapturedMail, route: "email-verify" | "new-password"): string {
  const prefix = `${AUTHEMAIL_FRONTEND}/${route}?`;
  const links = mail.links.filter((link) => link.startsWith(prefix));
  expect(links, `links of "${mail.subject}": ${mail.links.join(", ")}`).toHaveLength(1);
  const query = new URL(links[0]!).searchParams;
  expect([...query.keys()]).toEqual(["code"]);
  return query.get("code")!;
}

/** Signs up through the dialect, follows the emailed link and logs in: a client holding its key. */
export async function authemailUser(
  api: TestApi,
  email = uniqueEmail("authemail"),
): Promise<{ client: AuthemailClient; email: string; password: string }> {
  const client = new AuthemailClient(api);
  const password = STRONG_PASSWORD;
  const signedUp = await client.post("/accounts/signup/", { email, password });
  expect(signedUp.status, await signedUp.clone().text()).toBe(201);
  const mail = await api.smtp.waitForMail((m) => m.to.includes(email) && m.subject.includes("Activate"));
  const code = authemailCode(mail, "email-verify");
  const verified = await client.get(`/accounts/signup/verify/?${new URLSearchParams({ code })}`);
  expect(verified.status).toBe(200);
  await client.login(email, password);
  return { client, email, password };
}
