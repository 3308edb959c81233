// Hostile input to the shared HTTP plumbing (body parser, client address, CORS, OpenAPI page):
// every refusal is a 4xx in the JSON error shape, before validation or a query runs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { loadConfig } from "../../api/config/load.ts";
import { clientIp } from "../../api/http/client-ip.ts";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../../api/http/json-shape.ts";
import { MAX_PINGS_PER_WINDOW, PING_WINDOW_MS } from "../../api/realtime/actions.ts";
import { expectError } from "../support/assertions.ts";
import { type Client, loggedInClient, startTestApi, type TestApi, uniqueEmail } from "../support/test-api.ts";

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

describe("input PostgreSQL would fail on is a 400 naming the field", () => {
  let viewer: Client;
  beforeAll(async () => {
    viewer = await loggedInClient(api);
  });

  const cursorOf = (at: string, id: number) => Buffer.from(JSON.stringify([at, id])).toString("base64url");

  for (const [query, field] of [
    ["q=%00", "q"],
    ["q=ab%00cd", "q"],
    ["category=%00", "category"],
    ["category=%00&grouped=category", "category"],
    ["q=%00&grouped=category", "q"],
    [`cursor=${cursorOf("9999-99-99 99:99:99+99", 1)}`, "cursor"],
    [`cursor=${cursorOf("2026-02-30 10:00:00+00", 1)}`, "cursor"],
    [`cursor=${cursorOf("2026-01-01 24:00:00+00", 1)}`, "cursor"],
    [`cursor=${cursorOf("2026-01-01 10:00:00+16", 1)}`, "cursor"],
    [`cursor=${cursorOf("0000-01-01 10:00:00+00", 1)}`, "cursor"],
    [`cursor=${cursorOf("2026-01-01 10:00:00+00", 2 ** 31)}`, "cursor"],
  ] as const) {
    test(`GET /api/videos/?${query} → 400 {${field}}`, async () => {
      const { body } = await expectError(await viewer.get(`/api/videos/?${query}`), 400);
      expect(Object.keys(body)).toEqual([field]);
    });
  }

  test("a bad cursor on /api/favorites/ → 400 {cursor}", async () => {
    const cursor = cursorOf("9999-99-99 99:99:99+99", 1);
    const { body } = await expectError(await viewer.get(`/api/favorites/?cursor=${cursor}`), 400);
    expect(Object.keys(body)).toEqual(["cursor"]);
  });

  test("a valid cursor (microseconds, half-hour offset) still pages", async () => {
    const cursor = cursorOf("2026-11-24 08:00:00.123456+05:30", 1);
    expect((await viewer.get(`/api/videos/?cursor=${cursor}`)).status).toBe(200);
  });

  test("a NUL in any JSON string → 400 naming the field, before the route runs", async () => {
    const { body } = await expectError(
      await postJson("/api/register/", JSON.stringify({ email: `a\u0000${uniqueEmail()}`, password: "x" })),
      400,
    );
    expect(Object.keys(body)).toEqual(["email"]);
    const nestedNul = JSON.stringify({ title: "ok", tags: ["fine", "bad\u0000"] });
    const { body: nestedError } = await expectError(await postJson("/api/login/", nestedNul), 400);
    expect(Object.keys(nestedError)).toEqual(["tags.1"]);
  });
});

describe("X-Forwarded-For is believed only from trusted proxies", () => {
  const fakeServer = (address: string) =>
    ({ requestIP: () => ({ address, family: "IPv4", port: 1 }) }) as unknown as Server<unknown>;
  const request = (forwarded?: string) =>
    new Request("http://localhost/", { headers: forwarded ? { "x-forwarded-for": forwarded } : {} });
  const trusting = (list: string) => loadConfig({ TRUST_PROXY: list }).trustProxy;

  test("from a peer that is not a trusted proxy, the header is ignored", () => {
    const trusted = trusting("10.0.0.0/8");
    expect(clientIp(request("198.51.100.9"), fakeServer("192.0.2.50"), trusted)).toBe("192.0.2.50");
    expect(clientIp(request("198.51.100.9"), fakeServer("127.0.0.1"), trusted)).toBe("127.0.0.1");
    expect(clientIp(request("198.51.100.9"), fakeServer("192.0.2.50"), trusting("false"))).toBe("192.0.2.50");
  });

  test("from a trusted proxy: the rightmost hop that is not a trusted proxy", () => {
    const trusted = trusting("10.0.0.0/8, 2001:db8::/32");
    const via = (forwarded: string, peer = "10.1.2.3") =>
      clientIp(request(forwarded), fakeServer(peer), trusted);
    expect(via("198.51.100.9")).toBe("198.51.100.9");
    // What the client put in front of the header is skipped.
    expect(via("1.2.3.4, 198.51.100.9")).toBe("198.51.100.9");
    expect(via("1.2.3.4, 198.51.100.9, 10.9.9.9")).toBe("198.51.100.9");
    expect(via("1.2.3.4, 2001:db8::5", "2001:db8::1")).toBe("1.2.3.4");
    expect(via("198.51.100.9:4711, 10.0.0.2")).toBe("198.51.100.9:4711");
    expect(via("", "10.1.2.3")).toBe("10.1.2.3");
    // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
    expect(via("198.51.100.9", "::ffff:10.1.2.3")).toBe("198.51.100.9");
  });

  test("TRUST_PROXY=true trusts the loopback edge only", () => {
    const trusted = trusting("true");
    expect(clientIp(request("198.51.100.9"), fakeServer("::1"), trusted)).toBe("198.51.100.9");
    expect(clientIp(request("198.51.100.9"), fakeServer("127.0.0.1"), trusted)).toBe("198.51.100.9");
    expect(clientIp(request("198.51.100.9"), fakeServer("192.0.2.50"), trusted)).toBe("192.0.2.50");
  });

  test("a spoofed header from a peer outside TRUST_PROXY does not dodge the per-address rate limit", async () => {
    const strict = await startTestApi({ TRUST_PROXY: "10.0.0.0/8", RATE_LIMIT_LOGIN_IP: "2/1m" });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const response = await fetch(`${strict.url}/api/login/`, {
          method: "POST",
          body: JSON.stringify({ email: uniqueEmail(), password: "wrong-password-1" }),
          headers: { "content-type": "application/json", "x-forwarded-for": `198.51.100.${i + 1}` },
        });
        statuses.push(response.status);
        await response.body?.cancel();
      }
      expect(statuses.at(-1)).toBe(429);
    } finally {
      await strict.stop();
    }
  });
});

describe("WebSocket pings are throttled per socket", () => {
  test(`past ${MAX_PINGS_PER_WINDOW} pings in ${PING_WINDOW_MS / 1000} s → rate_limited, the socket stays open`, async () => {
    const viewer = await loggedInClient(api);
    const cookie = [...viewer.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    const ws = new WebSocket(`${api.url.replace("http", "ws")}/api/ws`, {
      headers: { cookie, origin: "http://frontend.test" },
    } as never);
    const messages: Array<{ type: string; code?: string }> = [];
    ws.addEventListener("message", (event) => messages.push(JSON.parse(String(event.data))));
    const arrived = async (count: number) => {
      const deadline = Date.now() + 5000;
      while (messages.length < count && Date.now() < deadline) await Bun.sleep(10);
      expect(messages.length).toBeGreaterThanOrEqual(count);
    };
    try {
      await arrived(1); // welcome
      for (let i = 0; i < MAX_PINGS_PER_WINDOW + 2; i++) ws.send(JSON.stringify({ type: "ping", id: i }));
      await arrived(1 + MAX_PINGS_PER_WINDOW + 2);
      const replies = messages.slice(1);
      expect(replies.filter((m) => m.type === "pong")).toHaveLength(MAX_PINGS_PER_WINDOW);
      expect(replies.slice(-2).map((m) => m.code)).toEqual(["rate_limited", "rate_limited"]);
      expect(ws.readyState).toBe(WebSocket.OPEN);
    } finally {
      ws.close();
    }
  });
});

describe("CORS credentials only for an allowed origin", () => {
  const FRONTEND = "http://frontend.test";
  const credentialsOf = async (init: RequestInit, path = "/health") => {
    const response = await fetch(`${api.url}${path}`, init);
    await response.body?.cancel();
    return response.headers.get("access-control-allow-credentials");
  };

  test("no Origin, or a foreign one: no Access-Control-Allow-Credentials", async () => {
    expect(await credentialsOf({})).toBeNull();
    expect(await credentialsOf({ headers: { origin: "https://evil.example" } })).toBeNull();
    const preflight = {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    };
    expect(await credentialsOf(preflight, "/api/login/")).toBeNull();
  });

  test("the allowed origin: requests and preflights carry it", async () => {
    expect(await credentialsOf({ headers: { origin: FRONTEND } })).toBe("true");
    const preflight = {
      method: "OPTIONS",
      headers: { origin: FRONTEND, "access-control-request-method": "POST" },
    };
    expect(await credentialsOf(preflight, "/api/login/")).toBe("true");
  });
});

describe("the OpenAPI page loads no third-party script", () => {
  test("its scripts come from this api, and the script route answers", async () => {
    const html = await (await fetch(`${api.url}/openapi`)).text();
    const sources = [...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((match) => match[1]);
    expect(sources).toEqual(["openapi/scalar.js"]);
    expect(html).not.toContain("cdn.jsdelivr.net");
    expect(html).not.toContain("@latest");
    const script = await fetch(new URL(sources[0]!, `${api.url}/openapi`));
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toStartWith("text/javascript");
    expect((await script.text()).length).toBeGreaterThan(0);
  });

  test("the script route is not in the OpenAPI document", async () => {
    const doc = (await (await fetch(`${api.url}/openapi/json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).not.toContain("/openapi/scalar.js");
  });
});
