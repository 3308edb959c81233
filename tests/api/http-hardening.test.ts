// Hostile input to the shared HTTP plumbing (body parser, client address, CORS, OpenAPI page):
// every refusal is a 4xx in the JSON error shape, before validation or a query runs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../../api/http/json-shape.ts";
import { expectError } from "../support/assertions.ts";
import { startTestApi, type TestApi } from "../support/test-api.ts";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

let nextAddress = 1;
const postJson = (path: string, body: string) =>
  fetch(`${api.url}${path}`, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", "x-forwarded-for": `203.0.113.${nextAddress++ % 250}` },
  });

const nested = (depth: number) => `${'{"":'.repeat(depth)}1${"}".repeat(depth)}`;

describe("deeply nested JSON", () => {
  test("11,000 nested objects (64 KB) → 400 before validation", async () => {
    const body = nested(11_000);
    expect(body.length).toBeLessThan(64 * 1024);
    const { body: error } = await expectError(await postJson("/api/login/", body), 400);
    expect(String(error.detail)).toContain(`deeper than ${MAX_JSON_DEPTH}`);
  });

  test("nested arrays count too", async () => {
    const body = `{"email":${"[".repeat(40)}${"]".repeat(40)}}`;
    const { body: error } = await expectError(await postJson("/api/login/", body), 400);
    expect(String(error.detail)).toContain("deeper than");
  });

  test(`${MAX_JSON_DEPTH} levels still reach the route's validation`, async () => {
    const response = await postJson("/api/login/", nested(MAX_JSON_DEPTH));
    const text = await response.text();
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(text).not.toContain("deeper than");
  });

  test("brackets inside strings (and escaped quotes) are not nesting", () => {
    const inString = JSON.stringify({ password: `\\"${"{[".repeat(100)}` });
    expect(nestsDeeperThan(inString, 2)).toBe(false);
    expect(nestsDeeperThan(nested(3), 2)).toBe(true);
    expect(nestsDeeperThan(nested(2), 2)).toBe(false);
  });
});
