// Admin endpoints for accounts: deactivating one and ending all of its sessions. `{ admin: true }` on
// every route (401 signed out, 403 non-admin); CSRF is the global double-submit check of every write.
import { Elysia, t } from "elysia";
import { ErrorBody } from "../http/errors.ts";
import { IdParams } from "../http/params.ts";
import { AuthModel } from "./model.ts";
import type { authPlugin } from "./plugin.ts";
import type { SessionService } from "./sessions.ts";

const adminErrors = { 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } as const;

export function accountAdminRoutes(deps: {
  services: { sessions: SessionService };
  auth: ReturnType<typeof authPlugin>;
}) {
  const { sessions } = deps.services;
  return new Elysia({ name: "account-admin", detail: { tags: ["Admin: accounts"] } })
    .use(deps.auth)
    .patch("/api/admin/users/:id", ({ params, body }) => sessions.setActive(params.id, body.is_active), {
      admin: true,
      params: IdParams,
      body: AuthModel.accountStatusBody,
      parse: "json",
      response: { 200: AuthModel.accountStatus, 400: ErrorBody, ...adminErrors },
      detail: {
        summary: "Deactivate or reactivate an account",
        description:
          "`{is_active: false}` ends every session of the user at once (tokens refused on every replica, WebSockets closed with 4003); the account cannot log in until reactivated.",
      },
    })
    .delete(
      "/api/admin/users/:id/sessions",
      async ({ params, set }) => {
        await sessions.revokeAll(params.id);
        set.status = 204;
      },
      {
        admin: true,
        params: IdParams,
        response: { 204: t.Void(), ...adminErrors },
        detail: {
          summary: "End every session of a user",
          description:
            "Refresh and access tokens are refused on every replica at once and the user's WebSockets close (4003); the user can log in again.",
        },
      },
    );
}
