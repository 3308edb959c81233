import type { Cookie } from "elysia";
import type { Config } from "../config/load.ts";
import type { IssuedSession } from "./refresh-sessions.ts";
import { newSecret } from "./secrets.ts";

type CookieJar = Record<string, Cookie<unknown>>;

/** The refresh token only travels to the api's own paths; the access token to everything (media too). */
const REFRESH_PATH = "/api/";

export function setSessionCookies(cookie: CookieJar, session: IssuedSession, config: Config): void {
  const common = { httpOnly: true, sameSite: "lax", secure: config.secureCookies } as const;
  cookie.access_token!.set({
    ...common,
    value: session.accessToken,
    path: "/",
    maxAge: config.accessTokenTtlSeconds,
  });
  cookie.refresh_token!.set({
    ...common,
    value: session.refreshToken,
    path: REFRESH_PATH,
    maxAge: config.refreshTokenTtlSeconds,
  });
  // Readable by scripts on purpose: the SPA echoes it in X-CSRFToken (double-submit).
  cookie.csrftoken!.set({
    value: newSecret(),
    httpOnly: false,
    sameSite: "lax",
    secure: config.secureCookies,
    path: "/",
    maxAge: config.refreshTokenTtlSeconds,
  });
}

export function clearSessionCookies(cookie: CookieJar, config: Config): void {
  const expired = {
    value: "",
    maxAge: 0,
    expires: new Date(0),
    secure: config.secureCookies,
    sameSite: "lax",
  } as const;
  cookie.access_token!.set({ ...expired, httpOnly: true, path: "/" });
  cookie.refresh_token!.set({ ...expired, httpOnly: true, path: REFRESH_PATH });
  cookie.csrftoken!.set({ ...expired, httpOnly: false, path: "/" });
}
