// The content dialect's session cookies. Its frontend never reads them (HttpOnly) and sends them with
// every call (withCredentials), so they carry their own names and travel only under the dialect's
// prefix: the course client's `access_token` never authenticates here, nor `vf_access` there.
import type { Cookie } from "elysia";
import type { Config } from "../../config/load.ts";
import { CONTENT_PREFIX } from "./presenter.ts";

type CookieJar = Record<string, Cookie<unknown>>;

export const ACCESS_COOKIE = "vf_access";
export const REFRESH_COOKIE = "vf_refresh";
const COOKIE_PATH = `${CONTENT_PREFIX}/`;
const ACCESS = /(?:^|;\s*)vf_access=([^;]*)/;

/**
 * Whether the login asked to be remembered travels in the refresh cookie's value: a rotation has to
 * set the successor the same way (persistent or for the browser session), and a cookie's attributes
 * never come back with it. Changing it only changes how long the user's own browser keeps the cookie.
 */
const REMEMBERED = "p.";
const FOR_SESSION = "s.";

/** The access JWT of the `vf_access` cookie, read straight from the header (every signed-in call). */
export function contentAccessTokenOf(request: Request): string | undefined {
  const header = request.headers.get("cookie");
  return header ? ACCESS.exec(header)?.[1] : undefined;
}

/** The refresh token of the `vf_refresh` cookie, and whether its login was remembered. */
export function refreshCookieOf(cookie: CookieJar): { token: string | undefined; remember: boolean } {
  const value = cookie[REFRESH_COOKIE]?.value;
  if (typeof value !== "string" || value === "") return { token: undefined, remember: false };
  if (value.startsWith(REMEMBERED)) return { token: value.slice(REMEMBERED.length), remember: true };
  if (value.startsWith(FOR_SESSION)) return { token: value.slice(FOR_SESSION.length), remember: false };
  return { token: value, remember: false };
}

/**
 * Sets both cookies: HttpOnly, SameSite=Lax (the frontend and the api are one site, e.g. two ports of
 * localhost), Secure under https. Remembered: they last as long as their tokens; else they end with
 * the browser session (the tokens still expire on their own).
 */
export function setContentCookies(
  cookie: CookieJar,
  session: { accessToken: string; refreshToken: string },
  remember: boolean,
  config: Pick<Config, "secureCookies" | "accessTokenTtlSeconds" | "refreshTokenTtlSeconds">,
): void {
  const common = {
    httpOnly: true,
    sameSite: "lax",
    secure: config.secureCookies,
    path: COOKIE_PATH,
  } as const;
  cookie[ACCESS_COOKIE]!.set({
    ...common,
    value: session.accessToken,
    ...(remember ? { maxAge: config.accessTokenTtlSeconds } : {}),
  });
  cookie[REFRESH_COOKIE]!.set({
    ...common,
    value: `${remember ? REMEMBERED : FOR_SESSION}${session.refreshToken}`,
    ...(remember ? { maxAge: config.refreshTokenTtlSeconds } : {}),
  });
}

export function clearContentCookies(cookie: CookieJar, config: Pick<Config, "secureCookies">): void {
  const expired = {
    value: "",
    maxAge: 0,
    expires: new Date(0),
    httpOnly: true,
    sameSite: "lax",
    secure: config.secureCookies,
    path: COOKIE_PATH,
  } as const;
  cookie[ACCESS_COOKIE]!.set(expired);
  cookie[REFRESH_COOKIE]!.set(expired);
}
