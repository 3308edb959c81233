import { Elysia } from "elysia";
import { ownOrigin } from "./origin.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const SESSION_COOKIES = ["access_token", "refresh_token"];

/**
 * Refuses cross-site state changes: a browser request from a foreign Origin, and any state-changing
 * request that rides on the session cookies without echoing the `csrftoken` cookie in X-CSRFToken
 * (double-submit: a foreign page cannot read our cookie to copy it).
 *
 * The double-submit check guards the routes that authenticate through those cookies. Under the
 * `cookieFreePrefixes` (the client dialects: Bearer or Token headers, or cookies of their own) the
 * session cookies authenticate nothing, and a browser that also signed in to the course client on the
 * same host (cookies ignore ports) sends them along with its credentialed calls: those keep the
 * Origin check only.
 */
export const csrfProtection = (
  allowedOrigins: ReadonlySet<string>,
  cookieFreePrefixes: readonly string[] = [],
  /** Paths whose requests authenticate by a token in the URL and ignore cookies (any page may send them). */
  cookielessPath: (pathname: string) => boolean = () => false,
) =>
  new Elysia({ name: "csrf" })
    .onRequest(({ request, set }) => {
      if (SAFE_METHODS.has(request.method)) return;
      if (cookielessPath(pathOf(request.url))) return;
      const origin = request.headers.get("origin");
      if (origin !== null && !allowedOrigins.has(origin) && origin !== ownOrigin(request)) {
        set.status = 403;
        return { detail: "Cross-origin request refused: this Origin is not allowed." };
      }
      if (cookieFreePrefixes.length > 0) {
        const path = pathOf(request.url);
        if (cookieFreePrefixes.some((prefix) => path.startsWith(prefix))) return;
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

/** The path of a request URL, without parsing all of it (Bun hands over absolute URLs). */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const end = url.slice(start).search(/[?#]/);
  return end === -1 ? url.slice(start) : url.slice(start, start + end);
}

function timingSafeEqualText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && crypto.timingSafeEqual(left, right);
}
