// Renders the edge's templates (edge.conf.template explains the parts) into a folder for the machine's
// nginx: what infra/nginx/render-edge.sh does in the compose image, in TypeScript for edge.ts.
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const HERE = import.meta.dir;

export interface EdgeTlsOptions {
  /** The HTTPS port. */
  port: number;
  /** PEM: the certificate, then its chain (Let's Encrypt's fullchain.pem); a lone self-signed one is fine. */
  certFile: string;
  keyFile: string;
  /** Strict-Transport-Security max-age in seconds (default one year). */
  hstsMaxAgeSeconds?: number;
  /** The HTTPS port clients reach, for the HTTP → HTTPS redirect (default `port`). */
  publicPort?: number;
  /** DNS server nginx asks for the OCSP responder's address (default: the first in /etc/resolv.conf). */
  resolver?: string | null;
}

export interface EdgeSiteOptions {
  /** The address both servers listen on (127.0.0.1). */
  host: string;
  /** The plain-HTTP port. */
  port: number;
  /** host:port of the api, or of each api replica (round-robin; see apiServerDirectives). */
  apiUpstream: string | readonly string[];
  mediaRoot: string;
  mediaTokenSecret: string;
  sharedMaxAgeSeconds: number;
  corsOrigins: readonly string[];
  /** Where certbot --webroot writes its challenges. */
  acmeRoot: string;
  tls?: EdgeTlsOptions | null;
  /** nginx's version ("1.22.1"): HTTP/2 is spelled differently from 1.25.1 on. */
  nginxVersion: string;
  /** Where the access log's JSON lines go (a file, /dev/stderr), or null for none. */
  accessLog?: string | null;
}

export const DEFAULT_HSTS_MAX_AGE_SECONDS = 31_536_000;

// host:port, host a name or an IPv4 address or a bracketed IPv6 one: nothing that could end the directive.
const API_SERVER = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$/;

/**
 * API_UPSTREAM as a list: one address, or several comma-separated (the api replicas). Throws, naming the
 * entry, for one that is not host:port.
 */
export function apiServers(upstream: string | readonly string[]): string[] {
  const entries = (typeof upstream === "string" ? upstream.split(",") : [...upstream]).map((entry) =>
    entry.trim(),
  );
  if (entries.length === 0 || entries.every((entry) => entry === "")) {
    throw new Error("API_UPSTREAM names no api address (host:port, comma-separated for several)");
  }
  for (const entry of entries) {
    if (!API_SERVER.test(entry)) throw new Error(`API_UPSTREAM entry "${entry}" is not host:port`);
  }
  return entries;
}

/**
 * The upstream's `server` lines: nginx sends each request to the next replica in turn (per request,
 * keep-alive connections included) and passes one it cannot connect to on to the next.
 */
export function apiServerDirectives(upstream: string | readonly string[]): string {
  return apiServers(upstream)
    .map((server) => `server ${server};`)
    .join("\n  ");
}

/** envsubst for the `${NAME}` placeholders the templates declare (nginx's own `$vars` are untouched). */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (whole, name: string) => values[name] ?? whole);
}

/** `listen … ssl` with HTTP/2: a `listen` parameter up to nginx 1.25.0, its own directive after. */
export function tlsListenDirectives(listen: string, nginxVersion: string): string {
  const [major = 0, minor = 0, patch = 0] = nginxVersion.split(".").map(Number);
  const ownDirective = major > 1 || (major === 1 && (minor > 25 || (minor === 25 && patch >= 1)));
  return ownDirective ? `listen ${listen} ssl;\n  http2 on;` : `listen ${listen} ssl http2;`;
}

/** How many certificates a PEM file holds: more than one is a chain, which OCSP stapling needs. */
export function certificatesIn(pem: string): number {
  return pem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
}

/** The stapling directives for a certificate file that holds its chain, else nothing. */
export function staplingDirectives(certFile: string, resolver: string | null): string {
  if (certificatesIn(readFileSync(certFile, "utf8")) < 2) return "";
  const lines = ["ssl_stapling on;", "ssl_stapling_verify on;", `ssl_trusted_certificate ${certFile};`];
  if (resolver) lines.push(`resolver ${resolver} valid=300s;`, "resolver_timeout 5s;");
  return lines.join("\n  ");
}

/** The first `nameserver` of /etc/resolv.conf, bracketed when it is IPv6 (nginx's syntax). */
export function systemResolver(): string | null {
  try {
    const line = readFileSync("/etc/resolv.conf", "utf8")
      .split("\n")
      .find((candidate) => /^\s*nameserver\s+\S/.test(candidate));
    const address = line?.trim().split(/\s+/)[1];
    if (!address) return null;
    return address.includes(":") ? `[${address}]` : address;
  } catch {
    return null;
  }
}

/**
 * Writes the rendered parts into `dir` and returns the files nginx's http block includes: edge.conf,
 * then tls.conf with TLS. The media secret is in routes.conf: readable by its owner only.
 */
export function renderEdgeSite(dir: string, options: EdgeSiteOptions): string[] {
  const corsMap = join(dir, "cors-origins.map");
  writeFileSync(
    corsMap,
    options.corsOrigins.map((origin) => `${JSON.stringify(new URL(origin).origin)} $http_origin;\n`).join(""),
  );
  const tls = options.tls ?? null;
  const httpsPort = tls ? (tls.publicPort ?? tls.port) : 443;
  const values: Record<string, string> = {
    EDGE_PARTS: dir,
    EDGE_LISTEN: `${options.host}:${options.port}`,
    EDGE_API_SERVERS: apiServerDirectives(options.apiUpstream),
    MEDIA_ROOT: resolve(options.mediaRoot),
    MEDIA_TOKEN_SECRET: options.mediaTokenSecret,
    EDGE_SHARED_MAX_AGE: String(options.sharedMaxAgeSeconds),
    EDGE_CORS_MAP: corsMap,
    EDGE_ACME_ROOT: resolve(options.acmeRoot),
    EDGE_HSTS_MAX_AGE: String(tls?.hstsMaxAgeSeconds ?? DEFAULT_HSTS_MAX_AGE_SECONDS),
    EDGE_HTTP_SITE: join(dir, tls ? "redirect.conf" : "routes.conf"),
    EDGE_ACCESS_LOG_TARGET: options.accessLog ? `${options.accessLog} videoflix_json` : "off",
    EDGE_HTTPS_PORT_SUFFIX: httpsPort === 443 ? "" : `:${httpsPort}`,
  };
  const render = (template: string, out: string, mode = 0o644) => {
    const text = readFileSync(join(HERE, template), "utf8");
    writeFileSync(join(dir, out), renderTemplate(text, values), { mode });
    return join(dir, out);
  };
  copyFileSync(join(HERE, "edge-errors.conf"), join(dir, "errors.conf"));
  render("edge-routes.conf.template", "routes.conf", 0o600);
  const included = [render("edge.conf.template", "edge.conf")];
  if (tls) {
    render("edge-redirect.conf.template", "redirect.conf");
    values.EDGE_TLS_LISTEN_DIRECTIVES = tlsListenDirectives(
      `${options.host}:${tls.port}`,
      options.nginxVersion,
    );
    values.EDGE_TLS_CERT = resolve(tls.certFile);
    values.EDGE_TLS_KEY = resolve(tls.keyFile);
    values.EDGE_TLS_STAPLING = staplingDirectives(
      resolve(tls.certFile),
      tls.resolver === undefined ? systemResolver() : tls.resolver,
    );
    included.push(render("edge-tls.conf.template", "tls.conf"));
  }
  return included;
}
