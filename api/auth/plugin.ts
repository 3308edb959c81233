import { Elysia } from "elysia";
import type { AvailableDialect } from "../config/compat.ts";
import { forbidden, unauthorized } from "../http/errors.ts";
import { accessTokenIn } from "./access-cookie.ts";
import type { AccessTokens, SessionUser } from "./session.ts";

const BEARER = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i;

/** The access token of a request's `access_token` cookie (api/auth/access-cookie.ts reads it). */
export const accessTokenOf = (request: Request): string | undefined =>
  accessTokenIn(request.headers.get("cookie"));

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
  /** The verified cache's answer for the request, when cheaper than `cached(tokenOf(request))`. */
  cachedUserOf?(accessTokens: AccessTokens, request: Request): SessionUser | undefined;
}

/**
 * The course client: the `access_token` cookie, looked up in the cache by the whole Cookie header
 * first (AccessTokens.cachedForCookie: the flat header is a cheaper Map key than the token cut out of it).
 */
export const COOKIE_CREDENTIAL: SessionCredential = {
  tokenOf: accessTokenOf,
  dialect: null,
  cachedUserOf: (accessTokens, request) => accessTokens.cachedForCookie(request.headers.get("cookie")),
};

/** A user of the course client's cookie: a dialect's token (djoser's Bearer JWT) there is nobody's. */
const courseUser = (user: SessionUser | null | undefined): SessionUser | null =>
  user && user.dialect === undefined ? user : null;

/**
 * The cookie's session for the paths that read the `access_token` cookie outside the `{ auth: true }`
 * macro (media, the WebSocket, logout): the same dialect rule as the macro's, so a token of another
 * client placed in the cookie opens nothing there either. `cachedOf` is the synchronous hot path.
 */
export const cookieSession = {
  /** The cached session of the request's cookie, by its whole Cookie header first (as the macro). */
  cachedOf: (accessTokens: AccessTokens, request: Request): SessionUser | null =>
    courseUser(accessTokens.cachedForCookie(request.headers.get("cookie"))),
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
    const cached = credential.cachedUserOf
      ? credential.cachedUserOf(accessTokens, request)
      : accessTokens.cached(credential.tokenOf(request));
    if (cached) return entitled(cached, requireAdmin);
    return accessTokens.verify(credential.tokenOf(request)).then((user) => entitled(user, requireAdmin));
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
