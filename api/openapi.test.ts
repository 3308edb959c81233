import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestApi, type TestApi } from "../tests/support/test-api.ts";

interface Operation {
  operationId?: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, { content?: Record<string, { schema?: JsonSchema }> }>;
}
interface JsonSchema {
  type?: string;
  properties?: Record<string, unknown>;
  required?: string[];
  $ref?: string;
}
interface Document {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown> };
}

// method, path as the document spells it, required JSON body fields (null: the route takes no body)
const ROUTES: [string, string, string[] | null][] = [
  ["post", "/api/register/", ["email", "password", "confirmed_password"]],
  ["get", "/api/activate/{uidb64}/{token}/", null],
  ["post", "/api/login/", ["email", "password"]],
  ["post", "/api/token/refresh/", null],
  ["post", "/api/logout/", null],
  ["post", "/api/password_reset/", ["email"]],
  ["post", "/api/password_confirm/{uidb64}/{token}/", ["new_password", "confirm_password"]],
  ["get", "/api/me/", null],
  ["get", "/api/sessions/", null],
  ["delete", "/api/sessions/{id}", null],
  ["get", "/api/admin/users", null],
  ["get", "/api/admin/users/{id}", null],
  ["patch", "/api/admin/users/{id}", []],
  ["get", "/api/admin/users/{id}/sessions", null],
  ["delete", "/api/admin/users/{id}/sessions", null],
  ["delete", "/api/admin/categories/{id}", null],
  ["get", "/api/admin/videos/{id}/attempts", null],
  ["get", "/api/admin/farm", null],
  ["get", "/api/admin/farm/failed", null],
  ["post", "/api/admin/farm/failed/{jobId}/retry", null],
  ["get", "/health", null],
  ["get", "/ready", null],
];

let api: TestApi;
let doc: Document;
beforeAll(async () => {
  api = await startTestApi();
  const response = await fetch(`${api.url}/openapi/json`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("application/json");
  doc = (await response.json()) as Document;
});
afterAll(() => api.stop());

const operation = (method: string, path: string): Operation => {
  const op = doc.paths[path]?.[method];
  if (!op) throw new Error(`${method.toUpperCase()} ${path} is not in the document`);
  return op;
};

test("an OpenAPI 3 document with the api's title", () => {
  expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
  expect(doc.info.title).toBe("Videoflix streaming API");
  expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+/);
});

describe("every account and health route is documented", () => {
  for (const [method, path] of ROUTES) {
    test(`${method.toUpperCase()} ${path}`, () => {
      const op = operation(method, path);
      // Path parameters: {name} placeholders, each declared once as a required path parameter.
      const placeholders = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
      const declared = (op.parameters ?? []).filter((p) => p.in === "path");
      expect(declared.map((p) => p.name).sort()).toEqual(placeholders.sort());
      expect(declared.every((p) => p.required === true && p.schema !== undefined)).toBe(true);
      expect(path).not.toContain(":");
      // At least one success response, every documented response but a 204 with a JSON schema (GET /api/me/
      // declares none yet: see the known-bug test below).
      if (path === "/api/me/") return;
      const responses = Object.entries(op.responses ?? {});
      expect(responses.some(([status]) => status.startsWith("2"))).toBe(true);
      for (const [status, response] of responses) {
        if (status === "204") continue; // no content, so no schema
        expect({ status, schema: response.content?.["application/json"]?.schema !== undefined }).toEqual({
          status,
          schema: true,
        });
      }
    });
  }
});

test("routes without a body declare none; operation ids are unique", () => {
  for (const [method, path, fields] of ROUTES) {
    if (fields === null)
      expect({ path, body: operation(method, path).requestBody }).toEqual({ path, body: undefined });
  }
  const ids = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
  expect(ids.every((id) => typeof id === "string" && id.length > 0)).toBe(true);
  expect(new Set(ids).size).toBe(ids.length);
});

test("every $ref points at a schema the document holds", () => {
  const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
  for (const ref of refs) {
    expect(ref).toStartWith("#/components/schemas/");
    expect(doc.components?.schemas?.[ref.slice("#/components/schemas/".length)]).toBeDefined();
  }
});

// The global JSON parser is a function, which the OpenAPI generator cannot read: routes name `parse: "json"`.
test("routes that take a JSON body document its schema and required fields", () => {
  for (const [method, path, fields] of ROUTES) {
    if (fields === null) continue;
    const schema = operation(method, path).requestBody?.content?.["application/json"]?.schema;
    // Every field optional (a PATCH): the schema lists none as required.
    expect({ path, type: schema?.type, required: schema?.required?.slice().sort() ?? [] }).toEqual({
      path,
      type: "object",
      required: fields.slice().sort(),
    });
  }
});

test("GET /api/me/ documents its 200 body and its 401", () => {
  const responses = operation("get", "/api/me/").responses ?? {};
  const schema = responses["200"]?.content?.["application/json"]?.schema;
  expect(Object.keys(schema?.properties ?? {}).sort()).toEqual(["email", "id", "is_admin"]);
  expect(responses["401"]).toBeDefined();
});

test("GET /openapi serves an HTML page that loads the JSON document", async () => {
  const response = await fetch(`${api.url}/openapi`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("text/html");
  const html = await response.text();
  expect(html).toStartWith("<!doctype html>");
  expect(html).toContain("<title>Videoflix streaming API</title>");
  expect(html).toContain("openapi/json");
});
