import { ConfigError, duration, type Env, optional, url } from "../../config/env.ts";

// The client dialects (api/compat/<dialect>/): other Videoflix frontends, each written for another
// Django backend, that this api answers under /compat/<dialect>/ when COMPAT_DIALECTS names them.

/** Every dialect of the issue, by the name COMPAT_DIALECTS uses. */
export const DIALECTS = ["djoser", "authemail", "content"] as const;
export type Dialect = (typeof DIALECTS)[number];

/** The dialects whose adapter this build has (api/compat/index.ts mounts exactly these). */
export const AVAILABLE_DIALECTS = ["djoser", "authemail", "content"] as const satisfies readonly Dialect[];
export type AvailableDialect = (typeof AVAILABLE_DIALECTS)[number];

export interface CompatSettings {
  /** The enabled dialects, in the order named; empty by default (a plain install exposes none). */
  readonly dialects: readonly AvailableDialect[];
  /** The frontend each dialect's emailed links open (COMPAT_<DIALECT>_FRONTEND_URL, else FRONTEND_URL). */
  readonly frontendUrls: Readonly<Record<Dialect, string>>;
  /**
   * How long an authemail API key lasts (COMPAT_AUTHEMAIL_TOKEN_TTL): its frontend cannot renew one and
   * never handles a 401, so a key outlives the refresh token's lifetime by design.
   */
  readonly authemailTokenTtlSeconds: number;
}

const isDialect = (name: string): name is Dialect => (DIALECTS as readonly string[]).includes(name);
const isAvailable = (name: Dialect): name is AvailableDialect =>
  (AVAILABLE_DIALECTS as readonly string[]).includes(name);

export function loadCompatSettings(env: Env, frontendUrl: string): CompatSettings {
  const dialects: AvailableDialect[] = [];
  for (const entry of (optional(env, "COMPAT_DIALECTS") ?? "").split(",")) {
    const name = entry.trim().toLowerCase();
    if (name === "") continue;
    if (!isDialect(name)) {
      throw new ConfigError(
        `COMPAT_DIALECTS must be a comma list of ${DIALECTS.join(", ")}, got "${entry.trim()}"`,
      );
    }
    if (!isAvailable(name)) {
      throw new ConfigError(
        `COMPAT_DIALECTS: the ${name} dialect has no adapter in this version (available: ${AVAILABLE_DIALECTS.join(", ")})`,
      );
    }
    if (!dialects.includes(name)) dialects.push(name);
  }
  const frontendOf = (dialect: Dialect) =>
    url(env, `COMPAT_${dialect.toUpperCase()}_FRONTEND_URL`, frontendUrl, ["http:", "https:"]) as string;
  const authemailTokenTtlSeconds = duration(env, "COMPAT_AUTHEMAIL_TOKEN_TTL", "30d");
  if (authemailTokenTtlSeconds < 60)
    throw new ConfigError(
      `COMPAT_AUTHEMAIL_TOKEN_TTL must be at least 1m, got ${authemailTokenTtlSeconds} s`,
    );
  return {
    dialects,
    frontendUrls: {
      djoser: frontendOf("djoser"),
      authemail: frontendOf("authemail"),
      content: frontendOf("content"),
    },
    authemailTokenTtlSeconds,
  };
}
