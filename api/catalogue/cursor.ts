// Keyset pagination of the catalogue and favorites: `(created_at, id)` of a page's last row, opaque to clients.
import { badRequest } from "../http/errors.ts";

// Cursors carry PostgreSQL's own text of the timestamp: a JS Date would drop the microseconds and
// skip rows created within the same millisecond.
export interface Cursor {
  at: string;
  id: number;
}
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(?:Z|[+-](\d{2})(?::?(\d{2}))?)?$/;

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.at, cursor.id])).toString("base64url");
}

const MAX_ID = 2 ** 31 - 1;

/** A timestamp PostgreSQL accepts: real month, day, time and an offset of at most ±15:59. */
function isValidTimestamp(text: string): boolean {
  const match = TIMESTAMP.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as number[];
  const offsetHours = match[8] === undefined ? 0 : Number(match[8]);
  const offsetMinutes = match[9] === undefined ? 0 : Number(match[9]);
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  return (
    year! >= 1 &&
    month! >= 1 &&
    month! <= 12 &&
    day! >= 1 &&
    day! <= daysInMonth &&
    hour! <= 23 &&
    minute! <= 59 &&
    second! <= 59 &&
    offsetHours <= 15 &&
    offsetMinutes <= 59
  );
}

export function decodeCursor(text: string): Cursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as unknown[];
    if (
      typeof at === "string" &&
      isValidTimestamp(at) &&
      Number.isInteger(id) &&
      (id as number) > 0 &&
      (id as number) <= MAX_ID
    ) {
      return { at, id: id as number };
    }
  } catch {
    // answered below
  }
  throw badRequest({ cursor: ["Invalid cursor."] });
}
