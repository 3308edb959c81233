// The headers every studio page carries: a strict Content-Security-Policy (the bundle has no inline
// script or style, so none is allowed), no framing, no sniffing, no referrer leaking video ids.
import type { Config } from "../config/load.ts";

/** ws:// or wss:// for an http(s) origin: the WebSocket the studio opens to the same host. */
const webSocketOrigin = (origin: string) => origin.replace(/^http/, "ws");

/**
 * The policy for the studio's pages. Posters come from PUBLIC_URL's origin (the api, or the edge in
 * front of it) and, with object storage, from the bucket's public endpoint the api redirects to.
 */
export function studioContentSecurityPolicy(config: Pick<Config, "publicOrigin" | "storage">): string {
  const media = ["'self'", config.publicOrigin];
  if (config.storage.kind === "s3") media.push(new URL(config.storage.publicEndpoint).origin);
  const sources = [...new Set(media)].join(" ");
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src ${sources} data: blob:`,
    `media-src ${sources} blob:`,
    `connect-src 'self' ${webSocketOrigin(config.publicOrigin)} ${config.publicOrigin}`,
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

export function studioPageHeaders(config: Pick<Config, "publicOrigin" | "storage">): Record<string, string> {
  return {
    "content-security-policy": studioContentSecurityPolicy(config),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
  };
}
