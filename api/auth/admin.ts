// Admin endpoints for accounts: find them, activate or deactivate them, grant or revoke admin, see and
// end their sessions. `{ admin: true }` on every route (401 signed out, 403 non-admin); CSRF is the
// global double-submit check of every write.
import { Elysia, t } from "elysia";
import { refuseUnknownFields } from "../http/editable-fields.ts";
import { ErrorBody } from "../http/errors.ts";
import { IdParams } from "../http/params.ts";
import { AuthModel } from "./model.ts";
import type { authPlugin } from "./plugin.ts";
import { presentAdminUser, presentSession } from "./presenter.ts";
import type { UserAdminService } from "./user-admin.ts";

const adminErrors = { 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } as const;
const DEFAULT_PAGE = 50;
const CHANGEABLE = new Set(Object.keys(AuthModel.accountChangeBody.properties));

export function accountAdminRoutes(deps: {
  services: { userAdmin: UserAdminService };
  auth: ReturnType<typeof authPlugin>;
}) {
  const { userAdmin } = deps.services;
  return new Elysia({ name: "account-admin", detail: { tags: ["Admin: accounts"] } })
    .use(deps.auth)
    .get(
      "/api/admin/users",
      async ({ query }) => {
        const filter = { q: query.q, isAdmin: query.is_admin, isActive: query.is_active };
        const page = await userAdmin.page(filter, query.limit ?? DEFAULT_PAGE, query.after);
        return { results: page.users.map(presentAdminUser), next_after: page.nextAfter };
      },
      {
        admin: true,
        query: AuthModel.userListQuery,
        response: { 200: AuthModel.userPage, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
        detail: {
          summary: "List and search accounts",
          description:
            "Newest first, keyset pages: pass `next_after` as `after` for the next one (as fast deep down as on the first page). `q` finds any part of the address (a trigram index). Each account says whether it is active and an admin, when it was created and when it last logged in (any client).",
        },
      },
    )
    .get("/api/admin/users/:id", async ({ params }) => presentAdminUser(await userAdmin.get(params.id)), {
      admin: true,
      params: IdParams,
      response: { 200: AuthModel.adminUser, ...adminErrors },
      detail: { summary: "One account" },
    })
    .patch(
      "/api/admin/users/:id",
      async ({ params, body, user }) =>
        presentAdminUser(
          await userAdmin.update(user, params.id, {
            isActive: body.is_active,
            isAdmin: body.is_admin,
            confirmSelf: body.confirm_self,
          }),
        ),
      {
        admin: true,
        params: IdParams,
        transform: ({ body }) => refuseUnknownFields(body, CHANGEABLE),
        body: AuthModel.accountChangeBody,
        parse: "json",
        response: { 200: AuthModel.adminUser, 400: ErrorBody, 409: ErrorBody, ...adminErrors },
        detail: {
          summary: "Activate or deactivate an account, grant or revoke admin",
          description:
            "`{is_active: false}` ends every session of the user at once (tokens refused on every replica, WebSockets closed with 4003); the account cannot log in until reactivated. `{is_admin: false}` ends them too (an access token carries the admin right); `{is_admin: true}` applies from the user's next refresh or login. 409 with `reason`: `last_admin` (the last active admin cannot be demoted or deactivated) or `self` (your own account, without `confirm_self: true`). 403 with `reason: not_admin` when the caller stopped being an active admin before the change ran (of two admins demoting each other at the same moment, one wins and the other gets this 403). Each change writes an audit log line.",
        },
      },
    )
    .get(
      "/api/admin/users/:id/sessions",
      async ({ params }) => (await userAdmin.sessionsOf(params.id)).map(presentSession),
      {
        admin: true,
        params: IdParams,
        response: { 200: t.Array(AuthModel.adminSession), ...adminErrors },
        detail: {
          summary: "A user's live sessions",
          description: "One per login that has not ended, the most recently used first (at most 100).",
        },
      },
    )
    .delete(
      "/api/admin/users/:id/sessions",
      async ({ params, set, user }) => {
        await userAdmin.revokeSessions(user, params.id);
        set.status = 204;
      },
      {
        admin: true,
        params: IdParams,
        response: { 204: t.Void(), ...adminErrors },
        detail: {
          summary: "End every session of a user",
          description:
            "Refresh and access tokens are refused on every replica at once and the user's WebSockets close (4003); the user can log in again. 403 with `reason: not_admin` when the caller stopped being an active admin before it ran. Writes an audit log line.",
        },
      },
    );
}
