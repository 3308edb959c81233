import { Elysia } from "elysia";
import { forbidden, unauthorized } from "../http/errors.ts";
import type { AccessTokens, SessionUser } from "./session.ts";

const ACCESS_COOKIE = /(?:^|;\s*)access_token=([^;]*)/;

/** Reads the access token straight from the Cookie header: the hot path of every signed-in request. */
export function accessTokenOf(request: Request): string | undefined {
  const header = request.headers.get("cookie");
  return header ? ACCESS_COOKIE.exec(header)?.[1] : undefined;
}

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
 * The auth plugin: routes opt in with `{ auth: true }` (any signed-in user) or `{ admin: true }`
 * and receive `user`. 401 without a valid session, 403 for a non-admin on an admin route.
 */
export const authPlugin = (accessTokens: AccessTokens) => {
  // Synchronous when the token is in the verified cache (nearly every request), async only on a miss.
  const sessionOf = (
    request: Request,
    requireAdmin: boolean,
  ): { user: SessionUser } | Promise<{ user: SessionUser }> => {
    const token = accessTokenOf(request);
    const cached = accessTokens.cached(token);
    if (cached) return entitled(cached, requireAdmin);
    return accessTokens.verify(token).then((user) => entitled(user, requireAdmin));
  };
  return new Elysia({ name: "auth", seed: seedOf(accessTokens) })
    .macro({
      auth: { resolve: ({ request }) => sessionOf(request, false) },
      admin: { resolve: ({ request }) => sessionOf(request, true) },
    })
    .as("scoped");
};

function entitled(user: SessionUser | null, requireAdmin: boolean): { user: SessionUser } {
  if (!user) throw unauthorized();
  if (requireAdmin && !user.isAdmin) throw forbidden();
  return { user };
}
