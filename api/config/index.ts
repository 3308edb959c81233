import { randomBytes } from "node:crypto";
import { parseDurationSeconds, parseRateLimit, type RateLimitRule } from "./duration.ts";

/**
 * The api's configuration, read from the environment once at start-up. A missing or malformed value
 * throws a ConfigError naming the variable, so the process stops before it serves anything.
 */
export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

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
  readonly jwtSecret: string;
  readonly jwtSecretIsEphemeral: boolean;
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  readonly activationTokenTtlSeconds: number;
  readonly passwordResetTokenTtlSeconds: number;
  readonly mediaRoot: string;
  readonly admin: { readonly email: string; readonly password: string } | null;
  readonly trustProxy: boolean;
  readonly maxJsonBodyBytes: number;
  readonly rateLimits: RateLimits;
  readonly logLevel: "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
}

function required(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`${name} is required`);
  return value;
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function duration(env: Env, name: string, fallback: string): number {
  const raw = optional(env, name) ?? fallback;
  const seconds = parseDurationSeconds(raw);
  if (seconds === null)
    throw new ConfigError(`${name} must be a duration like 900, 30m, 12h or 7d, got "${raw}"`);
  return seconds;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = optional(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function url(env: Env, name: string, fallback: string | undefined, protocols: string[]): string | undefined {
  const raw = optional(env, name) ?? fallback;
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute URL, got "${redact(raw)}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(" or ")}, got "${parsed.protocol}"`);
  }
  return raw.replace(/\/+$/, "");
}

/** Keeps credentials out of error messages. */
function redact(raw: string): string {
  return raw.replace(/\/\/[^@/]*@/, "//***@");
}

function path(env: Env, name: string, fallback: string): string {
  const value = optional(env, name) ?? fallback;
  if (!value.startsWith("/")) throw new ConfigError(`${name} must start with "/", got "${value}"`);
  return value;
}

function origins(env: Env, name: string, fallback: string): string[] {
  const raw = optional(env, name) ?? fallback;
  return raw
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      try {
        const parsed = new URL(entry);
        if (parsed.origin === "null" || parsed.origin !== entry.replace(/\/+$/, "")) throw new Error();
        return parsed.origin;
      } catch {
        throw new ConfigError(
          `${name} must be a comma-separated list of origins like https://app.example.com, got "${entry}"`,
        );
      }
    });
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

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

export function loadConfig(env: Env): Config {
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

  const publicOrigin = new URL(publicUrl).origin;
  const config: Config = {
    env: rawEnv,
    host: optional(env, "HOST") ?? "0.0.0.0",
    port,
    publicUrl,
    publicOrigin,
    secureCookies: publicUrl.startsWith("https:"),
    databaseUrl: url(env, "DATABASE_URL", undefined, ["postgres:", "postgresql:"]) ?? null,
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
    // Development without JWT_SECRET gets a random one: sessions then end when the process restarts.
    jwtSecret: jwtSecretValue ?? randomBytes(32).toString("base64url"),
    jwtSecretIsEphemeral: jwtSecretValue === undefined,
    accessTokenTtlSeconds: duration(env, "ACCESS_TOKEN_TTL", "30m"),
    refreshTokenTtlSeconds: duration(env, "REFRESH_TOKEN_TTL", "7d"),
    activationTokenTtlSeconds: duration(env, "ACTIVATION_TOKEN_TTL", "24h"),
    passwordResetTokenTtlSeconds: duration(env, "PASSWORD_RESET_TOKEN_TTL", "1h"),
    mediaRoot: optional(env, "MEDIA_ROOT") ?? "./var/media",
    admin: adminEmail && adminPassword ? { email: adminEmail, password: adminPassword } : null,
    trustProxy: boolean(env, "TRUST_PROXY", false),
    maxJsonBodyBytes: integer(env, "MAX_JSON_BODY_BYTES", 64 * 1024, 1024, 16 * 1024 * 1024),
    rateLimits: rateLimits(env),
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
