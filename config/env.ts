import { parseDurationSeconds } from "./duration.ts";

/** A missing or malformed setting; its message names the variable, and the process stops on it. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export type Env = Record<string, string | undefined>;

/** Runs a config loader at start-up; a ConfigError ends the process with its message (exit 78, EX_CONFIG). */
export function loadOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`configuration error: ${error.message}`);
      process.exit(78);
    }
    throw error;
  }
}

export function required(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`${name} is required`);
  return value;
}

export function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

/** A decimal number such as 0.25 or 3, within [min, max]. */
export function decimal(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || value < min || value > max) {
    throw new ConfigError(`${name} must be a number between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

export function duration(env: Env, name: string, fallback: string): number {
  const raw = optional(env, name) ?? fallback;
  const seconds = parseDurationSeconds(raw);
  if (seconds === null)
    throw new ConfigError(`${name} must be a duration like 900, 30m, 12h or 7d, got "${raw}"`);
  return seconds;
}

export function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = optional(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

export function url(
  env: Env,
  name: string,
  fallback: string | undefined,
  protocols: string[],
): string | undefined {
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
export function redact(raw: string): string {
  return raw.replace(/\/\/.*@/, "//***@");
}

export function path(env: Env, name: string, fallback: string): string {
  const value = optional(env, name) ?? fallback;
  if (!value.startsWith("/")) throw new ConfigError(`${name} must start with "/", got "${value}"`);
  return value;
}

export function origins(env: Env, name: string, fallback: string): string[] {
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
