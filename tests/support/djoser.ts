// The djoser dialect's client as its Angular frontend (Seldir193/Videoflix_frontend) behaves: JSON to
// `<backend>/compat/djoser/api/…` from its own origin, `Authorization: Bearer <access>` on every call
// once it holds one (the public ones included), no cookies of its own.
import { expect } from "bun:test";
import type { CapturedMail } from "../../dev/smtp-capture.ts";
import { Client, STRONG_PASSWORD, type TestApi, uniqueEmail } from "./test-api.ts";

export const DJOSER_API = "/compat/djoser/api";
export const DJOSER_FRONTEND = "http://djoser.frontend.test";
export const DJOSER_ENV = {
  COMPAT_DIALECTS: "djoser",
  COMPAT_DJOSER_FRONTEND_URL: DJOSER_FRONTEND,
  CORS_ORIGINS: `http://frontend.test,${DJOSER_FRONTEND}`,
} as const;

export interface DjoserTokens {
  access: string;
  refresh: string;
}

/** A browser on the djoser frontend's origin; `tokens` plays its localStorage. */
export class DjoserClient {
  readonly http: Client;
  tokens: DjoserTokens | null = null;

  constructor(api: TestApi) {
    this.http = new Client(api.url, DJOSER_FRONTEND);
  }

  /** A call under the dialect's base URL, with the Bearer of the stored access token (as its interceptor). */
  send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const auth: Record<string, string> = this.tokens ? { authorization: `Bearer ${this.tokens.access}` } : {};
    return this.http.request(method, `${DJOSER_API}${path}`, body, { ...auth, ...headers });
  }

  get = (path: string, headers?: Record<string, string>) => this.send("GET", path, undefined, headers);
  post = (path: string, body?: unknown, headers?: Record<string, string>) =>
    this.send("POST", path, body, headers);

  async login(email: string, password: string): Promise<DjoserTokens> {
    const response = await this.post("/auth/jwt/create/", { email, password });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    this.tokens = JSON.parse(text) as DjoserTokens;
    return this.tokens;
  }
}

/** The `<uid>/<token>` of a djoser frontend link such as `…/auth/activate/<uid>/<token>`. */
export function djoserLinkParts(mail: CapturedMail, route: string): { uid: string; token: string } {
  const prefix = `${DJOSER_FRONTEND}/auth/${route}/`;
  const links = mail.links.filter((link) => link.startsWith(prefix));
  expect(links, `links of "${mail.subject}": ${mail.links.join(", ")}`).toHaveLength(1);
  const [uid = "", token = "", ...rest] = links[0]!.slice(prefix.length).split("/");
  expect(rest).toEqual([]);
  return { uid: decodeURIComponent(uid), token: decodeURIComponent(token) };
}

/** Registers through the dialect, follows the emailed link and logs in: a client holding its tokens. */
export async function djoserUser(
  api: TestApi,
  email = uniqueEmail("djoser"),
): Promise<{ client: DjoserClient; email: string; password: string }> {
  const client = new DjoserClient(api);
  const password = STRONG_PASSWORD;
  const registered = await client.post("/auth/users/", { email, password, re_password: password });
  expect(registered.status, await registered.clone().text()).toBe(201);
  const mail = await api.smtp.waitForMail((m) => m.to.includes(email) && m.subject.includes("Activate"));
  const activated = await client.post("/auth/users/activation/", djoserLinkParts(mail, "activate"));
  expect(activated.status).toBe(204);
  await client.login(email, password);
  return { client, email, password };
}
