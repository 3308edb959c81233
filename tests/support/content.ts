// The content dialect's client as its Angular frontend (velizarganchev/videoflix-frontend) behaves:
// JSON to `<backend>/compat/content/…` from its own origin with credentials, the `vf_access` and
// `vf_refresh` cookies the api set, no Authorization and no CSRF header.
import { expect } from "bun:test";
import type { CapturedMail } from "../../dev/smtp-capture.ts";
import {
  Client,
  parseSetCookie,
  type SetCookie,
  STRONG_PASSWORD,
  type TestApi,
  uniqueEmail,
} from "./test-api.ts";

export const CONTENT_API = "/compat/content";
export const CONTENT_FRONTEND = "http://content.frontend.test";
export const CONTENT_ENV = {
  COMPAT_DIALECTS: "content",
  COMPAT_CONTENT_FRONTEND_URL: CONTENT_FRONTEND,
  CORS_ORIGINS: `http://frontend.test,${CONTENT_FRONTEND}`,
} as const;

/** A browser on the content frontend's origin; its cookie jar holds what the api set. */
export class ContentClient {
  readonly http: Client;

  constructor(api: TestApi) {
    this.http = new Client(api.url, CONTENT_FRONTEND);
  }

  send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    return this.http.request(method, `${CONTENT_API}${path}`, body, headers);
  }

  get = (path: string, headers?: Record<string, string>) => this.send("GET", path, undefined, headers);
  post = (path: string, body?: unknown, headers?: Record<string, string>) =>
    this.send("POST", path, body, headers);

  /** Logs in as the login form does; the answer's user (what the frontend keeps in sessionStorage). */
  async login(email: string, password: string, remember = false): Promise<ContentUser> {
    const response = await this.post("/users/login/", { email, password, remember });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    return JSON.parse(text) as ContentUser;
  }
}

export interface ContentUser {
  id: number;
  username: string;
  email: string;
  phone: null;
  address: null;
  favorite_videos: number[];
}

/** The Set-Cookie lines of an answer, by cookie name. */
export function setCookiesOf(response: Response): Map<string, SetCookie> {
  return new Map(
    response.headers.getSetCookie().map((line) => [parseSetCookie(line).name, parseSetCookie(line)]),
  );
}

/** The one link of a mail that starts with `prefix`, parsed. */
export function linkOf(mail: CapturedMail, prefix: string): URL {
  const links = mail.links.filter((link) => link.startsWith(prefix));
  expect(links, `links of "${mail.subject}": ${mail.links.join(", ")}`).toHaveLength(1);
  return new URL(links[0]!);
}

/** The activation link's path and query on this api (the mail names PUBLIC_URL). */
export function confirmPathOf(api: TestApi, mail: CapturedMail): string {
  const link = linkOf(mail, `${api.config.publicUrl}${CONTENT_API}/users/confirm/`);
  return `${link.pathname.slice(CONTENT_API.length)}${link.search}`;
}

/** Registers through the dialect, follows the emailed link and logs in: a client holding its cookies. */
export async function contentUser(
  api: TestApi,
  options: { email?: string; remember?: boolean } = {},
): Promise<{ client: ContentClient; email: string; password: string; user: ContentUser }> {
  const email = options.email ?? uniqueEmail("content");
  const client = new ContentClient(api);
  const password = STRONG_PASSWORD;
  const registered = await client.post("/users/register/", { email, password, confirm_password: password });
  expect(registered.status, await registered.clone().text()).toBe(201);
  const mail = await api.smtp.waitForMail((m) => m.to.includes(email) && m.subject.includes("Activate"));
  const confirmed = await client.get(confirmPathOf(api, mail));
  expect(confirmed.status).toBe(302);
  const user = await client.login(email, password, options.remember ?? false);
  return { client, email, password, user };
}
