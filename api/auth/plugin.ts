import { Elysia } from "elysia";
import { forbidden, unauthorized } from "../http/errors.ts";
import type { AccessTokens, SessionUser } from "./access-tokens.ts";

const ACCESS_COOKIE = /(?:^|;\s*)access_token=([^;]*)/;

/** Reads the access token straight from the Cookie header: the hot path of every signed-in request. */
export function accessTokenOf(request: Request): string | undefined {
  const header = request.headers.get("cookie");
  return header ? ACCESS_COOKIE.exec(header)?.[1] : undefined;
}

/**
 * The auth plugin: routes opt in with `{ auth: true }` (any signed-in user) or `{ admin: true }`
 * and receive `user`. 401 without a valid session, 403 for a non-admin on an admin route.
 */
export const authPlugin = (accessTokens: AccessTokens) =>
  new Elysia({ name: "auth", seed: accessTokens })
    .macro({
      auth: {
        async resolve({ request }): Promise<{ user: SessionUser }> {
          const user = await accessTokens.verify(accessTokenOf(request));
          if (!user) throw unauthorized();
          return { user };
        },
      },
      admin: {
        async resolve({ request }): Promise<{ user: SessionUser }> {
          const user = await accessTokens.verify(accessTokenOf(request));
          if (!user) throw unauthorized();
          if (!user.isAdmin) throw forbidden();
          return { user };
        },
      },
    })
    .as("scoped");
