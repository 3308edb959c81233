// drizzle wraps every driver error in a DrizzleQueryError whose message is "Failed query: <sql>
// params: <values>": logged as is, a failed login would write the address and the token hash it looked
// up. What gets logged is the driver's own error (its SQLSTATE, message and stack) instead.
import { DrizzleQueryError } from "drizzle-orm/errors";

/** `error` fit for a log line: a query's failure without the query's text or parameters. */
export function loggableError(error: unknown): unknown {
  if (!(error instanceof DrizzleQueryError)) return error;
  return error.cause ?? new Error("a database query failed (its text and parameters are not logged)");
}
