import { describe, expect, test } from "bun:test";
import { MediaTokens } from "./tokens.ts";

const SECRET = "unit-test-secret-that-is-long-enough-0123456789";

describe("MediaTokens", () => {
  let now = 1_700_000_000_000;
  const tokens = new MediaTokens(SECRET, 6 * 3600, () => now);

  test("a minted token checks for its video until it expires", () => {
    const token = tokens.mint(7);
    expect(token).toMatch(/^\d+\.[A-Za-z0-9_-]{22}$/);
    expect(tokens.check(7, token)).toEqual({ ok: true, expiresAtSeconds: Number(token.split(".")[0]) });
    expect(tokens.check(8, token).ok).toBe(false);
    const saved = now;
    now = Number(token.split(".")[0]) * 1000;
    expect(tokens.check(7, token)).toEqual({ ok: false, reason: "The media token has expired." });
    now = saved;
  });

  test("expiries are rounded up, so tokens minted close together are identical", () => {
    const first = tokens.mint(7);
    now += 1000;
    expect(tokens.mint(7)).toBe(first);
    const expiry = Number(first.split(".")[0]);
    expect(expiry % 300).toBe(0);
    expect(expiry * 1000 - now).toBeGreaterThanOrEqual(6 * 3600 * 1000 - 1000);
  });

  test("every other spelling of the tag is refused, including the last character's spare bits", () => {
    const token = tokens.mint(7);
    const [expiry, tag] = token.split(".") as [string, string];
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (const char of alphabet) {
      if (char === tag.at(-1)) continue;
      expect(tokens.check(7, `${expiry}.${tag.slice(0, -1)}${char}`).ok).toBe(false);
    }
    expect(tokens.check(7, `${Number(expiry) + 300}.${tag}`).ok).toBe(false);
    expect(tokens.check(7, `${expiry}.${tag}=`).ok).toBe(false);
  });

  test("another secret's tokens are refused", () => {
    const other = new MediaTokens(`${SECRET}-other`, 6 * 3600, () => now);
    expect(tokens.check(7, other.mint(7)).ok).toBe(false);
  });
});
