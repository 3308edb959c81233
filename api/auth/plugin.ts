import { Elysia } from "elysia";
import type { AvailableDialect } from "../config/compat.ts";
import { forbidden, unauthorized } from "../http/errors.ts";
import type { AccessTokens, SessionUser } from "./session.ts";

const ACCESS_COOKIE = "access_token=";
const SEMICOLON = 0x3b;
const BEARER = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i;

/** Space, tab and the line breaks: what may sit between a `;` and the next cookie's name. */
const isSpace = (code: number) => code === 0x20 || (code >= 0x09 && code <= 0x0d);

/** Whether the name found at `at` begins a cookie: the header's first, or after a `;` and spaces. */
function beginsCookie(header: string, at: number): boolean {
  let before = at - 1;
  while (before >= 0 && isSpace(header.charCodeAt(before))) before--;
  return before < 0 ? at === 0 : header.charCodeAt(before) === SEMICOLON;
}

/**
 * Reads the access token straight from the Cookie header: the hot path of every signed-in request.
 * Scanned with indexOf rather than a regex: the regex and its match array were ≈ 0.5 µs of a request
 * that costs ≈ 12 µs (BENCHMARKS.md, the access token check). The first `access_token` cookie wins.
 */
export function accessTokenOf(request: Request): string | undefined {
  const header = request.headers.get("cookie");
  if (!header) return undefined;
  for (let at = header.indexOf(ACCESS_COOKIE); at !== -1; at = header.indexOf(ACCESS_COOKIE, at + 1)) {
    if (!beginsCookie(header, at)) continue;
    const start = at + ACCESS_COOKIE.length;
    const end = header.indexOf(";", start);
    return end === -1 ? header.slice(start) : header.slice(start, end);
  }
  return undefined;
}

/** The token of an `Authorization: Bearer <token>` header (the djoser dialect's access JWT). */
export function bearerTokenOf(request: Request): string | undefined {
  const header = request.headers.get("authorization");
  return header ? BEARER.exec(header)?.[1] : undefined;
}

/**
 * How a client presents its session: where its access token travels, and the dialect whose tokens are
 * accepted there (null: the course client's, which carry none). Every resolver ends in the same
 * AccessTokens check, so revocations, epochs and expiry apply alike whatever the credential.
 */
export interface SessionCredential {
  tokenOf(request: Request): string | undefined;
  dialect: AvailableDialect | null;
}

/** The course client: the `access_token` cookie. */
export const COOKIE_CREDENTIAL: SessionCredential = { tokenOf: accessTokenOf, dialect: null };

/** A user of the course client's cookie: a dialect's token (djoser's Bearer JWT) there is nobody's. */
const courseUser = (user: SessionUser | null | undefined): SessionUser | null =>
  user && user.dialect === undefined ? user : null;

/**
 * The cookie's session for the paths that read the `access_token` cookie outside the `{ auth: true }`
 * macro (media, the WebSocket, logout): the same dialect rule as the macro's, so a token of another
 * client placed in the cookie opens nothing there either. `cached` is the synchronous hot path.
 */
export const cookieSession = {
  cached: (accessTokens: AccessTokens, token: string | undefined): SessionUser | null =>
    courseUser(accessTokens.cached(token)),
  verify: async (accessTokens: AccessTokens, token: string | undefined): Promise<SessionUser | null> =>
    courseUser(await accessTokens.verify(token)),
};

// Elysia tells plugin instances apart by a checksum of JSON.stringify(seed): one number per AccessTokens
// (which holds connections that do not serialise) keeps two apps' plugins apart, as the instance did.
const seeds = new WeakMap<AccessTokens, number>();
let lastSeed = 0;
const seedOf = (accessTokens: AccessTokens): number => {
  const known = seeds.get(accessTokens);
  if (known !== undefined) return known;
  seeds.set(accessTokens, ++lastSeed);
  return lastSeed;
};

/**
 * The signed-in user of a request, resolved from `credential`: the function the `{ auth: true }` macro
 * runs for the cookie, and what a dialect's routes resolve their own credential with. 401 without a
 * valid session (or with a token of another dialect), 403 for a non-admin when `requireAdmin`.
 * Synchronous when the token is in the verified cache (nearly every request), async only on a miss.
 */
export function sessionResolver(accessTokens: AccessTokens, credential: SessionCredential) {
  const entitled = (user: SessionUser | null, requireAdmin: boolean): { user: SessionUser } => {
    if (!user || (user.dialect ?? null) !== credential.dialect) throw unauthorized();
    if (requireAdmin && !user.isAdmin) throw forbidden();
    return { user };
  };
  return (request: Request, requireAdmin = false): { user: SessionUser } | Promise<{ user: SessionUser }> => {
    const token = credential.tokenOf(request);
    const cached = accessTokens.cached(token);
    if (cached) return entitled(cached, requireAdmin);
    return accessTokens.verify(token).then((user) => entitled(user, requireAdmin));
  };
}

/**
 * The auth plugin: routes opt in with `{ auth: true }` (any signed-in user) or `{ admin: true }`
 * and receive `user`. 401 without a valid session, 403 for a non-admin on an admin route.
 */
export const authPlugin = (accessTokens: AccessTokens) => {
  const sessionOf = sessionResolver(accessTokens, COOKIE_CREDENTIAL);
  return new Elysia({ name: "auth", seed: seedOf(accessTokens) })
    .macro({
      auth: { resolve: ({ request }) => sessionOf(request, false) },
      admin: { resolve: ({ request }) => sessionOf(request, true) },
    })
    .as("scoped");
};
