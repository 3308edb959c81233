// Hostile and broken requests to the account endpoints: oversized, malformed and mistyped bodies,
// strange strings, unknown routes. Every answer must be a 4xx in the JSON error shape, never a 500.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectClientError, expectError } from "../support/assertions.ts";
import {
  Client,
  loggedInClient,
  STRONG_PASSWORD,
  startTestApi,
  type TestApi,
  uniqueEmail,
} from "../support/test-api.ts";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

const MAX = 64 * 1024;
const BODY_ROUTES = [
  "/api/register/",
  "/api/login/",
  "/api/password_reset/",
  "/api/password_confirm/MQ/abc/",
];
const JSON_TYPE = { "content-type": "application/json" };

let nextAddress = 1;
/** A raw POST from an address of its own; `init.headers` may override anything. */
function post(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${api.url}${path}`, {
    method: "POST",
    ...init,
    headers: { "x-forwarded-for": `198.51.100.${nextAddress++ % 250}`, ...(init.headers as object) },
  });
}

/** A chunked body (no Content-Length) of `total` bytes of JSON whitespace, sent 16 KiB at a time. */
function chunkedBody(total: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= total) return controller.close();
      const size = Math.min(16 * 1024, total - sent);
      sent += size;
      controller.enqueue(new Uint8Array(size).fill(0x20));
    },
  });
}

describe("oversized bodies", () => {
  const big = JSON.stringify({ email: "a@example.com", password: "x".repeat(MAX) });

  for (const path of BODY_ROUTES) {
    test(`${path}: a declared Content-Length over the cap → 413`, async () => {
      await expectError(await post(path, { body: big, headers: JSON_TYPE }), 413);
    });
  }

  test("a chunked body that passes the cap → 413", async () => {
    const response = await post("/api/login/", {
      body: chunkedBody(4 * MAX),
      headers: JSON_TYPE,
      duplex: "half",
    } as RequestInit);
    expect(response.headers.get("content-length")).not.toBeNull();
    await expectError(response, 413);
  });

  test("a body just under the cap is parsed (and then judged on its fields)", async () => {
    const padded = JSON.stringify({ email: "nobody@example.com", password: "x", pad: "y".repeat(MAX - 200) });
    const { body } = await expectError(await post("/api/login/", { body: padded, headers: JSON_TYPE }), 400);
    expect(body).toEqual({ detail: expect.any(String) });
  });

  test("an oversized body on a route that takes none → 413 too", async () => {
    await expectError(await post("/api/token/refresh/", { body: big, headers: JSON_TYPE }), 413);
  });
});

describe("bodies that are not a JSON object", () => {
  const cases: [string, string][] = [
    ["malformed JSON", '{"email": "a@example.com",'],
    ["an empty body", ""],
    ["whitespace only", "   \n"],
    ["a JSON array", '["a@example.com"]'],
    ["a JSON number", "42"],
    ["JSON null", "null"],
    ["a JSON string", '"a@example.com"'],
    ["JSON true", "true"],
  ];
  for (const [label, body] of cases) {
    test(`${label} → 400 on every route that takes a body`, async () => {
      for (const path of BODY_ROUTES) {
        await expectError(await post(path, { body, headers: JSON_TYPE }), 400);
      }
    });
  }

  test("text/plain, form-urlencoded, binary and untyped bodies → 415 unread, even when they look right", async () => {
    const json = '{"email":"a@example.com","password":"x"}';
    const bodies: [BodyInit, Record<string, string>][] = [
      [json, { "content-type": "text/plain" }],
      ["email=a%40example.com&password=x", { "content-type": "application/x-www-form-urlencoded" }],
      [json, { "content-type": "application/octet-stream" }],
      [json, { "content-type": "application/jsonx" }],
      [new TextEncoder().encode(json), {}],
    ];
    for (const path of [...BODY_ROUTES, "/api/token/refresh/", "/api/logout/"]) {
      for (const [body, headers] of bodies) {
        const { body: error } = await expectError(await post(path, { body, headers }), 415);
        expect(error).toEqual({ detail: expect.any(String) });
      }
    }
  });

  test("a multipart body on a JSON route → a 4xx JSON error", async () => {
    const form = new FormData();
    form.set("email", "a@example.com");
    form.set("password", STRONG_PASSWORD);
    for (const path of BODY_ROUTES) await expectClientError(await post(path, { body: form }), [400, 415]);
  });

  test("a non-JSON body is refused before any route (even an admin one) reads it", async () => {
    const response = await post("/api/admin/videos/1", {
      method: "PATCH",
      body: chunkedBody(4 * MAX),
      headers: { "content-type": "text/plain" },
      duplex: "half",
    } as RequestInit);
    await expectError(response, 415);
  });

  test("refresh and logout take no body, an empty one, or {}", async () => {
    for (const body of [undefined, "", "{}"]) {
      const client = await loggedInClient(api);
      const headers = body === undefined ? {} : JSON_TYPE;
      expect((await client.post("/api/token/refresh/", body, headers)).status).toBe(200);
      expect((await client.post("/api/logout/", body, headers)).status).toBe(200);
    }
  });

  test("JSON content types in other spellings are accepted", async () => {
    for (const type of ["application/json; charset=utf-8", "Application/JSON", "application/vnd.api+json"]) {
      const body = JSON.stringify({ email: uniqueEmail("spelling") });
      expect((await post("/api/password_reset/", { body, headers: { "content-type": type } })).status).toBe(
        200,
      );
    }
  });
});

describe("fields", () => {
  test("missing fields → 400 naming each of them", async () => {
    const { body } = await expectError(await post("/api/register/", { body: "{}", headers: JSON_TYPE }), 400);
    expect(Object.keys(body).sort()).toEqual(["confirmed_password", "email", "password"]);
    const confirm = await post("/api/password_confirm/MQ/abc/", { body: "{}", headers: JSON_TYPE });
    expect(Object.keys((await expectError(confirm, 400)).body).sort()).toEqual([
      "confirm_password",
      "new_password",
    ]);
  });

  test("wrong field types → 400 naming the field", async () => {
    const wrong: [string, Record<string, unknown>, string][] = [
      ["/api/login/", { email: 42, password: "x" }, "email"],
      ["/api/login/", { email: "a@example.com", password: ["x"] }, "password"],
      ["/api/register/", { email: "a@example.com", password: null, confirmed_password: "x" }, "password"],
      ["/api/password_reset/", { email: { $ne: "" } }, "email"],
      ["/api/password_confirm/MQ/abc/", { new_password: true, confirm_password: "x" }, "new_password"],
    ];
    for (const [path, body, field] of wrong) {
      const { body: error } = await expectError(
        await post(path, { body: JSON.stringify(body), headers: JSON_TYPE }),
        400,
      );
      expect(Object.keys(error)).toContain(field);
    }
  });

  test("NUL bytes, control characters, lone surrogates and huge strings never reach a 500", async () => {
    const strange = [
      "a\u0000b@example.com",
      "a@exam\u0000ple.com",
      "\u0007@example.com",
      "\ud800@example.com",
    ];
    for (const email of [...strange, `${"a".repeat(1100)}@example.com`, `${"a".repeat(300)}@example.com`]) {
      const bodies: [string, object][] = [
        ["/api/register/", { email, password: STRONG_PASSWORD, confirmed_password: STRONG_PASSWORD }],
        ["/api/login/", { email, password: STRONG_PASSWORD }],
        ["/api/password_reset/", { email }],
      ];
      for (const [path, body] of bodies) {
        await expectError(await post(path, { body: JSON.stringify(body), headers: JSON_TYPE }), 400);
      }
    }
    const nulPassword = { email: uniqueEmail(), password: "pass\u0000word-Harbour-42" };
    await expectError(
      await post("/api/login/", { body: JSON.stringify(nulPassword), headers: JSON_TYPE }),
      400,
    );
  });

  test("a prototype-polluting body is just an invalid body", async () => {
    const body = '{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"x":1}}}';
    await expectError(await post("/api/login/", { body, headers: JSON_TYPE }), 400);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });
});

describe("routes and paths", () => {
  test("unknown routes and wrong methods → 404 JSON", async () => {
    const client = new Client(api.url);
    for (const response of [
      await client.get("/api/nope/"),
      await client.get("/nope"),
      await client.post("/api/nope/", {}),
      await client.get("/api/login/"),
      await client.request("DELETE", "/api/register/"),
    ]) {
      await expectError(response, 404);
    }
  });

  test("malformed percent-encoding and NULs in link paths → 400", async () => {
    const client = new Client(api.url);
    for (const path of ["%E0%A4%A/abc", "MQ/%E0%A4%A", "%00/abc", "MQ/%00", "..%2F..%2Fetc/passwd"]) {
      await expectClientError(await client.get(`/api/activate/${path}/`), [400]);
      const body = { new_password: STRONG_PASSWORD, confirm_password: STRONG_PASSWORD };
      await expectClientError(await client.post(`/api/password_confirm/${path}/`, body), [400]);
    }
  });

  test("malformed Cookie headers never reach a 500", async () => {
    const headers = [
      "access_token=%ZZ; csrftoken=%E0%A4%A; refresh_token=%",
      "access_token",
      "=;;=; ;",
      "refresh_token=a; refresh_token=b; csrftoken=c",
      `refresh_token=${"x".repeat(5000)}; csrftoken=c`,
      'refresh_token="quoted"; csrftoken=c',
    ];
    for (const cookie of headers) {
      for (const [method, path] of [
        ["GET", "/api/me/"],
        ["POST", "/api/token/refresh/"],
        ["POST", "/api/logout/"],
      ]) {
        const response = await fetch(`${api.url}${path}`, {
          method,
          headers: { cookie, "x-csrftoken": "c" },
        });
        if (path === "/api/logout/" && response.status === 200) continue;
        await expectClientError(response, [401, 403]);
      }
    }
  });

  test("a signed-in client's hostile requests are refused the same way", async () => {
    const client = await loggedInClient(api);
    await expectError(await client.post("/api/login/", "{", JSON_TYPE), 400);
    await expectError(await client.post("/api/login/", "x".repeat(MAX + 1), JSON_TYPE), 413);
    expect((await client.get("/api/me/")).status).toBe(200);
  });
});
