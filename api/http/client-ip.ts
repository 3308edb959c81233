import type { Server } from "bun";

/**
 * The client's address, for rate limits and logs. Behind a reverse proxy (TRUST_PROXY=true) it is the
 * first address of X-Forwarded-For; otherwise the socket's peer, which a client cannot forge.
 */
export function clientIp(request: Request, server: Server<unknown> | null, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = request.headers.get("x-forwarded-for");
    const first = forwarded?.split(",")[0]?.trim();
    if (first) return first;
  }
  return server?.requestIP(request)?.address ?? "unknown";
}
