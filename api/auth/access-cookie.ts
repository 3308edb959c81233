// The access token's place in a Cookie header, read by hand: the hot path of every signed-in request.

const ACCESS_COOKIE = "access_token=";
const SEMICOLON = 0x3b;

/** Space, tab and the line breaks: what may sit between a `;` and the next cookie's name. */
const isSpace = (code: number) => code === 0x20 || (code >= 0x09 && code <= 0x0d);

/** Whether the name found at `at` begins a cookie: the header's first, or after a `;` and spaces. */
function beginsCookie(header: string, at: number): boolean {
  let before = at - 1;
  while (before >= 0 && isSpace(header.charCodeAt(before))) before--;
  return before < 0 ? at === 0 : header.charCodeAt(before) === SEMICOLON;
}

/**
 * The `access_token` cookie's value in a Cookie header (the first one wins). Scanned with indexOf
 * rather than a regex: the regex and its match array were ≈ 0.5 µs of a request that costs ≈ 12 µs
 * (BENCHMARKS.md, the access token check).
 */
export function accessTokenIn(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  for (let at = header.indexOf(ACCESS_COOKIE); at !== -1; at = header.indexOf(ACCESS_COOKIE, at + 1)) {
    if (!beginsCookie(header, at)) continue;
    const start = at + ACCESS_COOKIE.length;
    const end = header.indexOf(";", start);
    return end === -1 ? header.slice(start) : header.slice(start, end);
  }
  return undefined;
}
