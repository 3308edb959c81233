import { describe, expect, test } from "bun:test";
import { RefreshSuccessors } from "./refresh-successor.ts";
import { newSecret } from "./secrets.ts";

const SECRET = "refresh-successor-test-secret-0123456789";
const pair = { refreshToken: newSecret(), accessToken: "header.payload.signature" };

describe("RefreshSuccessors", () => {
  test("the pair sealed for a token opens with that token", () => {
    const successors = new RefreshSuccessors(SECRET);
    const presented = newSecret();
    expect(successors.open(presented, successors.seal(presented, pair))).toEqual(pair);
  });

  test("sealing twice gives two texts (a fresh IV), neither holding the tokens", () => {
    const successors = new RefreshSuccessors(SECRET);
    const presented = newSecret();
    const [a, b] = [successors.seal(presented, pair), successors.seal(presented, pair)];
    expect(a).not.toBe(b);
    for (const sealed of [a, b]) {
      expect(sealed).not.toContain(pair.refreshToken);
      expect(Buffer.from(sealed, "base64url").toString("latin1")).not.toContain(pair.refreshToken);
    }
  });

  test("another token, another server secret, a tampered or truncated text: null", () => {
    const successors = new RefreshSuccessors(SECRET);
    const presented = newSecret();
    const sealed = successors.seal(presented, pair);
    expect(successors.open(newSecret(), sealed)).toBeNull();
    expect(new RefreshSuccessors(`${SECRET}-other`).open(presented, sealed)).toBeNull();
    const bytes = Buffer.from(sealed, "base64url");
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    expect(successors.open(presented, bytes.toString("base64url"))).toBeNull();
    expect(successors.open(presented, sealed.slice(0, 20))).toBeNull();
    expect(successors.open(presented, "")).toBeNull();
  });
});
