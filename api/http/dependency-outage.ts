// Which thrown errors mean "a dependency is away" rather than "this request went wrong": those are
// answered 503 with Retry-After (DependencyUnavailableError), not 500. The clients signal an outage
// by message or code only (ioredis has no error codes), so the markers are listed here, in one place.

export type Dependency = "redis" | "database" | "network";

/** What ioredis rejects a command with when the connection is down, closed or does not answer. */
const REDIS_MESSAGES = [
  "Stream isn't writeable and enableOfflineQueue options is false",
  "Command timed out",
  "Connection is closed.",
];
const REDIS_ERROR_NAMES = new Set(["MaxRetriesPerRequestError"]);
/** Redis replies that say "not now": still loading its data set after a restart, or a busy script. */
const REDIS_REPLY_PREFIXES = ["LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN"];

/**
 * postgres.js's own codes for a connection that could not be made or was lost, and our query deadline's
 * (db/query-deadline.ts: the server did not answer in time).
 */
const POSTGRES_CLIENT_CODES = new Set([
  "QUERY_DEADLINE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
]);
/**
 * SQLSTATEs of a server that is going away, starting or out of connections: class 08 (connection
 * exception) is matched by prefix. Not 57014 (statement timeout, cancel): a slow query is this request's
 * fault or a bug, a 500 logged with its stack; a server that does not answer at all is caught by our own
 * client-side deadline (db/query-deadline.ts), whose code is in POSTGRES_CLIENT_CODES.
 */
const POSTGRES_SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300"]);

/** Socket errors: whichever client saw them, the peer is unreachable or went away. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

export interface DependencyOutage {
  dependency: Dependency;
  /**
   * The error that said so: drizzle wraps the driver's in a DrizzleQueryError whose message holds the
   * SQL text and its parameters (addresses, token hashes), so this inner one is what gets logged.
   */
  error: Error;
}

/** The outage `error` (or an error it wraps, as drizzle does) reports; null otherwise. */
export function dependencyOutageOf(error: unknown): DependencyOutage | null {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const dependency = classify(current);
    if (dependency) return { dependency, error: current };
    current = current.cause;
  }
  return null;
}

function classify(error: Error): Dependency | null {
  if (REDIS_ERROR_NAMES.has(error.name) || REDIS_MESSAGES.includes(error.message)) return "redis";
  if (error.name === "ReplyError" && REDIS_REPLY_PREFIXES.some((prefix) => error.message.startsWith(prefix)))
    return "redis";
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string") return null;
  if (POSTGRES_CLIENT_CODES.has(code)) return "database";
  if (error.name === "PostgresError" && (POSTGRES_SQLSTATES.has(code) || code.startsWith("08")))
    return "database";
  if (NETWORK_CODES.has(code)) return "network";
  return null;
}
