import { Elysia } from "elysia";
import { ownOrigin } from "./origin.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const SESSION_COOKIES = ["access_token", "refresh_token"];

/**
 * Refuses cross-site state changes: a browser request from a foreign Origin, and any state-changing
 * request that rides on the session cookies without echoing the `csrftoken` cookie in X-CSRFToken
 * (double-submit: a foreign page cannot read our cookie to copy it).
 */
export const csrfProtection = (
  allowedOrigins: ReadonlySet<string>,
  /** Paths whose requests authenticate by a token in the URL and ignore cookies (any page may send them). */
  cookielessPath: (pathname: string) => boolean = () => false,
) =>
  new Elysia({ name: "csrf" })
    .onRequest(({ request, set }) => {
      if (SAFE_METHODS.has(request.method)) return;
      if (cookielessPath(new URL(request.url).pathname)) return;
      const origin = request.headers.get("origin");
      if (origin !== null && !allowedOrigins.has(origin) && origin !== ownOrigin(request)) {
        set.status = 403;
        return { detail: "Cross-origin request refused: this Origin is not allowed." };
      }
      const cookieHeader = request.headers.get("cookie");
      if (!cookieHeader) return;
      const cookies = new Bun.CookieMap(cookieHeader);
      if (!SESSION_COOKIES.some((name) => cookies.has(name))) return;
      const expected = cookies.get("csrftoken");
      const sent = request.headers.get("x-csrftoken");
      if (!expected || !sent || !timingSafeEqualText(expected, sent)) {
        set.status = 403;
        return { detail: "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header." };
      }
    })
    .as("global");

function timingSafeEqualText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && crypto.timingSafeEqual(left, right);
}
