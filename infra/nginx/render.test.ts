// The pure parts of the edge's renderer: the upstream's server lines from API_UPSTREAM, HTTP/2's
// spelling by nginx version, and when a certificate file turns OCSP stapling on. Rendering with nginx itself is tests/e2e/edge*.test.ts.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  apiServerDirectives,
  apiServers,
  certificatesIn,
  staplingDirectives,
  tlsListenDirectives,
} from "./render.ts";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

test("API_UPSTREAM: one server line per comma-separated address, from a string or a list", () => {
  expect(apiServerDirectives("api:3000")).toBe("server api:3000;");
  expect(apiServerDirectives("127.0.0.1:3001, 127.0.0.1:3002")).toBe(
    "server 127.0.0.1:3001;\n  server 127.0.0.1:3002;",
  );
  expect(apiServers(["[::1]:3000", "api-2.internal:80"])).toEqual(["[::1]:3000", "api-2.internal:80"]);
});

test("API_UPSTREAM: an entry that is not host:port is refused by name, nothing can end the directive", () => {
  expect(() => apiServers("")).toThrow("names no api address");
  expect(() => apiServers("api")).toThrow('"api" is not host:port');
  expect(() => apiServers("api:3000,")).toThrow('"" is not host:port');
  expect(() => apiServers("api:3000; return 200")).toThrow("is not host:port");
  expect(() => apiServers(["127.0.0.1:3000 backup"])).toThrow("is not host:port");
});

test("HTTP/2 is a listen parameter up to nginx 1.25.0 and its own directive from 1.25.1", () => {
  expect(tlsListenDirectives("127.0.0.1:8443", "1.22.1")).toBe("listen 127.0.0.1:8443 ssl http2;");
  expect(tlsListenDirectives("8443", "1.25.0")).toBe("listen 8443 ssl http2;");
  expect(tlsListenDirectives("8443", "1.25.1")).toBe("listen 8443 ssl;\n  http2 on;");
  expect(tlsListenDirectives("8443", "1.27.5")).toBe("listen 8443 ssl;\n  http2 on;");
});

test("stapling needs the chain: on for two certificates or more, off for a lone one", () => {
  const dir = mkdtempSync(join(tmpdir(), "vf-render-"));
  try {
    const lone = join(dir, "lone.pem");
    const chain = join(dir, "chain.pem");
    writeFileSync(lone, PEM);
    writeFileSync(chain, PEM + PEM);
    expect(certificatesIn(PEM + PEM + PEM)).toBe(3);
    expect(staplingDirectives(lone, "127.0.0.11")).toBe("");
    const on = staplingDirectives(chain, "127.0.0.11");
    expect(on).toContain("ssl_stapling on;");
    expect(on).toContain(`ssl_trusted_certificate ${chain};`);
    expect(on).toContain("resolver 127.0.0.11 valid=300s;");
    expect(staplingDirectives(chain, null)).not.toContain("resolver");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
