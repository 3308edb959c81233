import { createHmac, randomBytes } from "node:crypto";
import { isIP } from "node:net";
import { parseRateLimit, type RateLimitRule } from "../../config/duration.ts";
import {
  ConfigError,
  duration,
  type Env,
  integer,
  optional,
  origins,
  path,
  required,
  url,
} from "../../config/env.ts";
import { loadStorageSettings, type StorageSettings } from "../../config/storage.ts";
import { type CompatSettings, loadCompatSettings } from "./compat.ts";

export { ConfigError } from "../../config/env.ts";

// The api's configuration, read from the environment once at start-up. A missing or malformed value
// throws a ConfigError naming the variable, so the process stops before it serves anything.

export type RateLimitAction = "login" | "register" | "passwordReset" | "refresh";
export type RateLimits = Record<RateLimitAction, { ip: RateLimitRule; account: RateLimitRule }>;

export interface Config {
  readonly env: "development" | "production" | "test";
  readonly host: string;
  readonly port: number;
  /** Absolute base URL of the api, without a trailing slash; media and thumbnail URLs start with it. */
  readonly publicUrl: string;
  readonly publicOrigin: string;
  readonly secureCookies: boolean;
  /** postgres:// URL, or null for the embedded PGlite database under `pgliteDir`. */
  readonly databaseUrl: string | null;
  /** Client-side deadline of every query (DATABASE_QUERY_TIMEOUT_MS): a database that does not answer → 503. */
  readonly databaseQueryTimeoutMs: number;
  readonly pgliteDir: string;
  readonly redisUrl: string;
  /** smtp(s):// URL, or null to write mails as .eml files under `mailDir`. */
  readonly smtpUrl: string | null;
  readonly mailDir: string;
  readonly mailFrom: string;
  readonly frontendUrl: string;
  readonly activationPath: string;
  readonly passwordResetPath: string;
  readonly loginPath: string;
  readonly forgotPasswordPath: string;
  readonly corsOrigins: readonly string[];
  /** The other Videoflix clients' dialects served under /compat/<dialect>/, and their frontends. */
  readonly compat: CompatSettings;
  readonly jwtSecret: string;
  readonly jwtSecretIsEphemeral: boolean;
  /** Keys the signed media URLs (MEDIA_TOKEN_SECRET); shared with the nginx edge, which must not hold JWT_SECRET. */
  readonly mediaTokenSecret: string;
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  /**
   * How long a just-rotated refresh token still yields its successor, or the newest pair down its chain
   * (REFRESH_GRACE_SECONDS, measured on the database's clock):
   * two tabs, or parallel requests, refreshing at once. Presented later, it revokes its session.
   */
  readonly refreshGraceSeconds: number;
  readonly activationTokenTtlSeconds: number;
  readonly passwordResetTokenTtlSeconds: number;
  /** The local driver's root (also what the edge serves segments from). */
  readonly mediaRoot: string;
  /** Where media lives: the local file system, or a bucket (STORAGE_URL). */
  readonly storage: StorageSettings;
  readonly admin: { readonly email: string; readonly password: string } | null;
  /** Proxies whose X-Forwarded-For is believed (TRUST_PROXY), as `address/prefix`; empty: none. */
  readonly trustProxy: readonly string[];
  readonly maxJsonBodyBytes: number;
  /** Largest video upload accepted; bigger ones get 413 before anything is stored. */
  readonly maxUploadBytes: number;
  /** The studio's production bundle (STUDIO_DIR; `bun run studio:build` writes it), served at /studio/. */
  readonly studioDir: string;
  /** UPLOAD_EXPIRY: a resumable upload nothing wrote to for this long is removed with its bytes. */
  readonly uploadExpirySeconds: number;
  readonly transcodeAttempts: number;
  readonly transcodeBackoffSeconds: number;
  /** How often the api looks for videos whose transcode job vanished or died (and on start). */
  readonly reconcileIntervalSeconds: number;
  /** How often watch-progress heartbeats are moved from Redis to PostgreSQL (and lost at most in a crash). */
  readonly progressFlushIntervalSeconds: number;
  /** Lifetime of the signed media tokens written into served HLS playlists (`?token=`). */
  readonly mediaTokenTtlSeconds: number;
  /** Lifetime of the signed progressive-MP4 URLs the catalogue lists: a film, paused, must not outlive it. */
  readonly mediaMp4TokenTtlSeconds: number;
  readonly rateLimits: RateLimits;
  /** Bearer token GET /metrics asks for (METRICS_TOKEN); null: the endpoint is open. */
  readonly metricsToken: string | null;
  /**
   * Languages titles, descriptions and category names are served in (SUPPORTED_LANGUAGES), lowercase
   * primary subtags (`en`, `de`); the first is the default: the language of the plain fields, and the
   * fallback of every translated one.
   */
  readonly supportedLanguages: readonly [string, ...string[]];
  readonly logLevel: "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
}

const RATE_LIMIT_DEFAULTS: Record<RateLimitAction, { ip: string; account: string; prefix: string }> = {
  login: { prefix: "RATE_LIMIT_LOGIN", ip: "30/5m", account: "10/15m" },
  register: { prefix: "RATE_LIMIT_REGISTER", ip: "20/1h", account: "5/1h" },
  passwordReset: { prefix: "RATE_LIMIT_PASSWORD_RESET", ip: "20/1h", account: "5/1h" },
  refresh: { prefix: "RATE_LIMIT_REFRESH", ip: "120/1m", account: "30/1m" },
};

function rateLimits(env: Env): RateLimits {
  const entries = Object.entries(RATE_LIMIT_DEFAULTS).map(([action, spec]) => {
    const rule = (suffix: "IP" | "ACCOUNT", fallback: string) => {
      const name = `${spec.prefix}_${suffix}`;
      const raw = optional(env, name) ?? fallback;
      const parsed = parseRateLimit(raw);
      if (!parsed)
        throw new ConfigError(`${name} must look like "10/15m" (requests per window), got "${raw}"`);
      return parsed;
    };
    return [action, { ip: rule("IP", spec.ip), account: rule("ACCOUNT", spec.account) }];
  });
  return Object.fromEntries(entries) as RateLimits;
}

const LOOPBACK_PROXIES = ["127.0.0.0/8", "::1/128"];

/** TRUST_PROXY: `true` (the loopback edge), `false`, or a comma list of proxy addresses/CIDR ranges. */
function trustedProxies(env: Env): string[] {
  const raw = optional(env, "TRUST_PROXY") ?? "false";
  const lower = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(lower)) return LOOPBACK_PROXIES;
  if (["0", "false", "no", "off", ""].includes(lower)) return [];
  return raw.split(",").map((entry) => {
    const [address = "", prefix, ...rest] = entry.trim().split("/");
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    // IPv4-mapped IPv6 (::ffff:a.b.c.d) is matched as IPv4: write such ranges as IPv4.
    const valid =
      family !== 0 &&
      rest.length === 0 &&
      !address.toLowerCase().startsWith("::ffff:") &&
      (prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits));
    if (!valid) {
      throw new ConfigError(
        `TRUST_PROXY must be true, false or a comma list of proxy IPs/CIDR ranges, got "${entry.trim()}"`,
      );
    }
    return `${address}/${prefix ?? bits}`;
  });
}

/** SUPPORTED_LANGUAGES: a comma list of language subtags, the default first, each once. */
function supportedLanguages(env: Env): [string, ...string[]] {
  const raw = optional(env, "SUPPORTED_LANGUAGES") ?? "en,de";
  const languages = raw.split(",").map((entry) => entry.trim().toLowerCase());
  const malformed = languages.find((language) => !/^[a-z]{2,3}$/.test(language));
  if (malformed !== undefined) {
    throw new ConfigError(
      `SUPPORTED_LANGUAGES must be a comma list of two- or three-letter language codes, the default first (en,de), got "${malformed}"`,
    );
  }
  const repeated = languages.find((language, index) => languages.indexOf(language) !== index);
  if (repeated !== undefined) throw new ConfigError(`SUPPORTED_LANGUAGES names "${repeated}" twice`);
  return languages as [string, ...string[]];
}

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

export function loadConfig(env: Env): Config {
  const storage = loadStorageSettings(env);
  const rawEnv = optional(env, "NODE_ENV") ?? "development";
  if (rawEnv !== "development" && rawEnv !== "production" && rawEnv !== "test") {
    throw new ConfigError(`NODE_ENV must be development, production or test, got "${rawEnv}"`);
  }
  const production = rawEnv === "production";
  const port = integer(env, "PORT", 3000, 0, 65535);
  const publicUrl = (
    production
      ? url(env, "PUBLIC_URL", required(env, "PUBLIC_URL"), ["http:", "https:"])
      : url(env, "PUBLIC_URL", `http://localhost:${port}`, ["http:", "https:"])
  ) as string;
  const frontendUrl = url(
    env,
    "FRONTEND_URL",
    production ? required(env, "FRONTEND_URL") : "http://localhost:5500",
    ["http:", "https:"],
  ) as string;

  const jwtSecretValue = optional(env, "JWT_SECRET");
  if (jwtSecretValue === undefined && production)
    throw new ConfigError("JWT_SECRET is required in production");
  if (jwtSecretValue !== undefined && jwtSecretValue.length < 32) {
    throw new ConfigError("JWT_SECRET must be at least 32 characters long");
  }

  // Development without JWT_SECRET gets a random one: sessions then end when the process restarts.
  const jwtSecret = jwtSecretValue ?? randomBytes(32).toString("base64url");
  const mediaTokenSecretValue = optional(env, "MEDIA_TOKEN_SECRET");
  // Written into the edge's nginx config as is: letters, digits, "-" and "_" only.
  if (mediaTokenSecretValue !== undefined && !/^[A-Za-z0-9_-]{32,256}$/.test(mediaTokenSecretValue)) {
    throw new ConfigError(
      'MEDIA_TOKEN_SECRET must be 32-256 characters of letters, digits, "-" and "_" (e.g. openssl rand -hex 32)',
    );
  }

  const adminEmail = optional(env, "ADMIN_EMAIL");
  const adminPassword = optional(env, "ADMIN_PASSWORD");
  if ((adminEmail === undefined) !== (adminPassword === undefined)) {
    throw new ConfigError("ADMIN_EMAIL and ADMIN_PASSWORD must be set together");
  }
  if (adminPassword !== undefined && (adminPassword.length < 8 || adminPassword.length > 128)) {
    throw new ConfigError("ADMIN_PASSWORD must be 8 to 128 characters long");
  }

  const logLevel = (optional(env, "LOG_LEVEL") ??
    (rawEnv === "test" ? "silent" : "info")) as Config["logLevel"];
  if (!LOG_LEVELS.includes(logLevel))
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}`);

  const metricsToken = optional(env, "METRICS_TOKEN") ?? null;
  if (metricsToken !== null && !/^[\x21-\x7e]{16,256}$/.test(metricsToken))
    throw new ConfigError("METRICS_TOKEN must be 16-256 printable characters without spaces");

  // A presigned object-storage URL lives 7 days at most (SigV4), and a bucket's MP4 is reached by one.
  const mediaMp4TokenTtlSeconds = duration(env, "MEDIA_MP4_TOKEN_TTL", "12h");
  if (mediaMp4TokenTtlSeconds < 60 || mediaMp4TokenTtlSeconds > 7 * 86400)
    throw new ConfigError("MEDIA_MP4_TOKEN_TTL must be between 1m and 7d");

  const publicOrigin = new URL(publicUrl).origin;
  const config: Config = {
    env: rawEnv,
    host: optional(env, "HOST") ?? "0.0.0.0",
    port,
    publicUrl,
    publicOrigin,
    secureCookies: new URL(publicUrl).protocol === "https:",
    databaseUrl: url(env, "DATABASE_URL", undefined, ["postgres:", "postgresql:"]) ?? null,
    databaseQueryTimeoutMs: integer(env, "DATABASE_QUERY_TIMEOUT_MS", 5000, 2000, 600_000),
    pgliteDir: optional(env, "PGLITE_DIR") ?? "./var/pglite",
    redisUrl: url(env, "REDIS_URL", "redis://127.0.0.1:6379", ["redis:", "rediss:"]) as string,
    smtpUrl: url(env, "SMTP_URL", undefined, ["smtp:", "smtps:"]) ?? null,
    mailDir: optional(env, "MAIL_DIR") ?? "./var/mail",
    mailFrom: optional(env, "MAIL_FROM") ?? "Videoflix <no-reply@videoflix.local>",
    frontendUrl,
    activationPath: path(env, "ACTIVATION_PATH", "/pages/auth/activate.html"),
    passwordResetPath: path(env, "PASSWORD_RESET_PATH", "/pages/auth/confirm_password.html"),
    loginPath: path(env, "LOGIN_PATH", "/pages/auth/login.html"),
    forgotPasswordPath: path(env, "FORGOT_PASSWORD_PATH", "/pages/auth/forgot_password.html"),
    corsOrigins: origins(
      env,
      "CORS_ORIGINS",
      production ? "" : "http://localhost:5500,http://127.0.0.1:5500",
    ),
    compat: loadCompatSettings(env, frontendUrl),
    jwtSecret,
    jwtSecretIsEphemeral: jwtSecretValue === undefined,
    // Without its own secret one is derived from JWT_SECRET (fine without an edge, which needs its own).
    mediaTokenSecret:
      mediaTokenSecretValue ??
      createHmac("sha256", jwtSecret).update("videoflix media token v1").digest("hex"),
    accessTokenTtlSeconds: duration(env, "ACCESS_TOKEN_TTL", "30m"),
    refreshTokenTtlSeconds: duration(env, "REFRESH_TOKEN_TTL", "7d"),
    refreshGraceSeconds: integer(env, "REFRESH_GRACE_SECONDS", 10, 0, 300),
    activationTokenTtlSeconds: duration(env, "ACTIVATION_TOKEN_TTL", "24h"),
    passwordResetTokenTtlSeconds: duration(env, "PASSWORD_RESET_TOKEN_TTL", "1h"),
    mediaRoot: storage.kind === "local" ? storage.mediaRoot : (optional(env, "MEDIA_ROOT") ?? "./var/media"),
    storage,
    admin: adminEmail && adminPassword ? { email: adminEmail, password: adminPassword } : null,
    trustProxy: trustedProxies(env),
    maxJsonBodyBytes: integer(env, "MAX_JSON_BODY_BYTES", 64 * 1024, 1024, 16 * 1024 * 1024),
    maxUploadBytes: integer(env, "MAX_UPLOAD_BYTES", 10 * 1024 ** 3, 1024, 2 ** 50),
    studioDir: optional(env, "STUDIO_DIR") ?? "./dist/studio",
    uploadExpirySeconds: duration(env, "UPLOAD_EXPIRY", "24h"),
    transcodeAttempts: integer(env, "TRANSCODE_ATTEMPTS", 3, 1, 20),
    transcodeBackoffSeconds: integer(env, "TRANSCODE_BACKOFF_SECONDS", 30, 0, 3600),
    reconcileIntervalSeconds: integer(env, "RECONCILE_INTERVAL_SECONDS", 60, 1, 86400),
    progressFlushIntervalSeconds: integer(env, "PROGRESS_FLUSH_INTERVAL_SECONDS", 5, 1, 3600),
    mediaTokenTtlSeconds: duration(env, "MEDIA_TOKEN_TTL", "6h"),
    mediaMp4TokenTtlSeconds,
    rateLimits: rateLimits(env),
    metricsToken,
    supportedLanguages: supportedLanguages(env),
    logLevel,
  };
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
