import { describe, expect, test } from "bun:test";
import { accessTokenOf } from "./plugin.ts";

const withCookie = (cookie: string | null) =>
  new Request("http://localhost/", cookie === null ? {} : { headers: { cookie } });

// The rule the hand-written scan keeps: the cookie named exactly access_token, first one wins, its
// value up to the next `;` (what the regex `(?:^|;\s*)access_token=([^;]*)` read before).
describe("accessTokenOf", () => {
  test("reads the access_token cookie wherever it stands among others", () => {
    expect(accessTokenOf(withCookie("access_token=abc.def.ghi"))).toBe("abc.def.ghi");
    expect(accessTokenOf(withCookie("access_token=abc; csrftoken=x"))).toBe("abc");
    expect(accessTokenOf(withCookie("csrftoken=x; access_token=abc"))).toBe("abc");
    expect(accessTokenOf(withCookie("a=1;access_token=abc;b=2"))).toBe("abc");
    expect(accessTokenOf(withCookie("a=1;  \taccess_token=abc"))).toBe("abc");
  });

  test("a cookie whose name only ends in access_token is somebody else's", () => {
    expect(accessTokenOf(withCookie("xaccess_token=evil"))).toBeUndefined();
    expect(accessTokenOf(withCookie("my_access_token=evil; access_token=mine"))).toBe("mine");
    expect(accessTokenOf(withCookie("a=access_token=evil"))).toBeUndefined();
  });

  test("the first access_token cookie wins; empty or absent is no token", () => {
    expect(accessTokenOf(withCookie("access_token=first; access_token=second"))).toBe("first");
    expect(accessTokenOf(withCookie("access_token=; csrftoken=x"))).toBe("");
    expect(accessTokenOf(withCookie("csrftoken=x"))).toBeUndefined();
    expect(accessTokenOf(withCookie(""))).toBeUndefined();
    expect(accessTokenOf(withCookie(null))).toBeUndefined();
  });
});
