// Cheap checks on a JSON body's shape, run before the framework validates it: Elysia's validation
// error pretty-prints the whole value, so a deeply nested body costs seconds and a gigabyte.

/** Deepest nesting of arrays and objects a body may have; the api's own bodies are one or two deep. */
export const MAX_JSON_DEPTH = 32;

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * True when `text` nests arrays/objects deeper than `maxDepth`. A counter over brackets outside
 * strings: no parse, no allocation. Malformed JSON is left to JSON.parse to refuse.
 */
export function nestsDeeperThan(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === BACKSLASH) i++;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) {
      inString = true;
    } else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      if (++depth > maxDepth) return true;
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
      depth--;
    }
  }
  return false;
}

/**
 * The path (`field` or `field.inner.0`) of the first string or key holding a NUL character, or null.
 * PostgreSQL cannot store NUL in text, so such a value would only fail later, as a 500.
 */
export function pathWithNul(value: unknown, path: readonly string[] = []): string | null {
  if (typeof value === "string") return value.includes("\0") ? path.join(".") || "body" : null;
  if (value === null || typeof value !== "object") return null;
  for (const [key, inner] of Object.entries(value)) {
    const innerPath = [...path, key];
    if (key.includes("\0")) return path.join(".") || "body";
    const found = pathWithNul(inner, innerPath);
    if (found !== null) return found;
  }
  return null;
}
