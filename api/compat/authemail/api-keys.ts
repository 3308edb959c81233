// authemail's credential: DRF's `Authorization: Token <key>`, an opaque key that its frontend keeps in
// localStorage and can neither renew nor replace (it has no 401 handling at all). Ours is the refresh
// token of a session that is never rotated, started by `accounts/login/` for COMPAT_AUTHEMAIL_TOKEN_TTL:
// stored hashed, listed in GET /api/sessions/, ended by `accounts/logout/`, DELETE /api/sessions/<id>,
// a password reset or a deactivation. A key is exchanged for a short-lived access token of its session
// (the djoser refresh's `renewAccess`), which is remembered here: a request then costs the access-token
// cache's lookups, and every revocation the access tokens obey ends the key's requests too.
import { sessionResolver } from "../../auth/plugin.ts";
import type { AccountService } from "../../auth/service.ts";
import type { AccessTokens, SessionUser } from "../../auth/session.ts";
import { ApiError, unauthorized } from "../../http/errors.ts";

/** The dialect's name: its sessions' refresh families and access tokens carry it. */
export const AUTHEMAIL_DIALECT = "authemail";

// DRF compares the keyword case-insensitively; the key is ours (base64url).
const TOKEN = /^Token +([A-Za-z0-9_-]{1,256}) *$/i;

/** Keys remembered at most per replica: past it the oldest tenth is dropped (and renewed when seen). */
const MAX_REMEMBERED = 50_000;

/** DRF's answer to a key it does not know (the frontend reads nothing of it). */
const invalidKey = () => unauthorized("Invalid token.");

/** The key of an `Authorization: Token <key>` header. */
export function apiKeyOf(request: Request): string | undefined {
  const header = request.headers.get("authorization");
  return header ? TOKEN.exec(header)?.[1] : undefined;
}

type SessionClient = Parameters<AccountService["renewAccess"]>[1];

export class ApiKeys {
  /** Key → an access token of its session, valid or not: the access-token checks decide. */
  private readonly accessByKey = new Map<string, string>();
  private readonly viaAccess: ReturnType<typeof sessionResolver>;

  constructor(
    private readonly deps: {
      accounts: Pick<AccountService, "renewAccess">;
      accessTokens: AccessTokens;
    },
  ) {
    this.viaAccess = sessionResolver(deps.accessTokens, {
      tokenOf: (request) => {
        const key = apiKeyOf(request);
        return key === undefined ? undefined : this.accessByKey.get(key);
      },
      dialect: AUTHEMAIL_DIALECT,
    });
  }

  /**
   * The signed-in user of a request: through the remembered access token when it still holds, else
   * by renewing one from the key's session (limited like a refresh). 401 for a missing header, an
   * unknown, revoked or expired key, and a key of another client.
   */
  async userOf(request: Request, client: SessionClient): Promise<{ user: SessionUser }> {
    const key = apiKeyOf(request);
    if (key === undefined) throw unauthorized();
    if (this.accessByKey.has(key)) {
      try {
        return await this.viaAccess(request);
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 401) throw error;
        this.accessByKey.delete(key);
      }
    }
    const session = await this.deps.accounts
      .renewAccess(key, client, AUTHEMAIL_DIALECT)
      .catch((error: unknown) => {
        throw error instanceof ApiError && error.status === 401 ? invalidKey() : error;
      });
    this.remember(key, session.accessToken);
    return { user: session.user };
  }

  /** Forgets a key whose session has ended (its logout). */
  forget(request: Request): void {
    const key = apiKeyOf(request);
    if (key !== undefined) this.accessByKey.delete(key);
  }

  private remember(key: string, accessToken: string): void {
    if (this.accessByKey.size >= MAX_REMEMBERED) {
      // Maps iterate in insertion order: drop the oldest tenth in one sweep.
      let toDrop = Math.ceil(MAX_REMEMBERED / 10);
      for (const known of this.accessByKey.keys()) {
        this.accessByKey.delete(known);
        if (--toDrop === 0) break;
      }
    }
    this.accessByKey.set(key, accessToken);
  }
}
