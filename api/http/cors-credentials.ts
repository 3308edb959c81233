import { Elysia } from "elysia";

/**
 * Access-Control-Allow-Credentials only on answers to an allowed origin: the cors plugin's
 * `credentials: true` sends it on every answer. Use it before the cors plugin, so preflights (answered
 * inside that plugin's own request hook) carry it too.
 */
export const corsCredentials = (allowedOrigins: ReadonlySet<string>) =>
  new Elysia({ name: "cors-credentials" }).onRequest(({ request, set }) => {
    if (allowedOrigins.has(request.headers.get("origin") ?? "")) {
      set.headers["access-control-allow-credentials"] = "true";
    }
  });
