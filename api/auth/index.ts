import { Elysia, t } from "elysia";
import type { Config } from "../config/load.ts";
import { clientIp } from "../http/client-ip.ts";
import { ErrorBody } from "../http/errors.ts";
import { clearSessionCookies, setSessionCookies } from "./cookies.ts";
import { AuthModel } from "./model.ts";
import { type authPlugin, cookieSession } from "./plugin.ts";
import type { SessionClient } from "./refresh-sessions.ts";
import type { AccountService } from "./service.ts";
import type { AccessTokens } from "./session.ts";
import type { SessionService } from "./sessions.ts";

const errors = { 400: ErrorBody, 415: ErrorBody, 429: ErrorBody } as const;

/**
 * A path segment of an emailed link as it arrived. There is no params schema on purpose: a garbled
 * link (Elysia hands over null for malformed percent-encoding) must get the route's own "invalid
 * link" answer, not a schema error in another shape.
 */
const segment = (value: string | null | undefined): string => (typeof value === "string" ? value : "");

const asText = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

/** The Videoflix account endpoints; paths keep their trailing slash as the existing clients call them. */
export function authRoutes(deps: {
  services: { accounts: AccountService; sessions: SessionService; accessTokens: AccessTokens };
  auth: ReturnType<typeof authPlugin>;
  config: Config;
}) {
  const { accounts, sessions, accessTokens } = deps.services;
  const { config } = deps;
  const clientOf = (request: Request, server: Parameters<typeof clientIp>[1]): SessionClient => ({
    userAgent: request.headers.get("user-agent"),
    ip: clientIp(request, server, config.trustProxy),
  });
  return new Elysia({ name: "auth-routes", detail: { tags: ["Accounts"] } })
    .use(deps.auth)
    .post(
      "/api/register/",
      async ({ body, request, server, set }) => {
        await accounts.register(body, clientIp(request, server, config.trustProxy));
        set.status = 201;
        return { detail: "Registration received. Check your email to activate your account." };
      },
      {
        body: AuthModel.registerBody,
        parse: "json",
        response: { 201: AuthModel.detail, ...errors },
        detail: {
          summary: "Register",
          description:
            "Creates an inactive account and emails an activation link. An address that already has an account gets the same answer (its owner is notified instead).",
        },
      },
    )
    .get(
      "/api/activate/:uidb64/:token/",
      async ({ params, set }) => {
        if (await accounts.activate(segment(params.uidb64), segment(params.token))) {
          return { message: "Account successfully activated." };
        }
        set.status = 400;
        return { message: "Activation failed: the link is invalid, expired or already used." };
      },
      {
        response: { 200: AuthModel.message, 400: AuthModel.message },
        detail: { summary: "Activate an account with the emailed link" },
      },
    )
    .post(
      "/api/login/",
      async ({ body, request, server, cookie }) => {
        const session = await accounts.login(body, clientOf(request, server));
        setSessionCookies(cookie, session, config);
        return { detail: "Login successful", user: { id: session.user.id, username: session.user.email } };
      },
      {
        body: AuthModel.loginBody,
        parse: "json",
        response: { 200: AuthModel.loginResponse, ...errors },
        detail: {
          summary: "Log in",
          description:
            "Sets `access_token` (JWT), `refresh_token` and `csrftoken` cookies. Wrong email, wrong password and inactive account answer alike.",
        },
      },
    )
    .post(
      "/api/token/refresh/",
      async ({ request, server, cookie }) => {
        const session = await accounts.refresh(
          asText(cookie.refresh_token?.value),
          clientOf(request, server),
        );
        setSessionCookies(cookie, session, config);
        return { detail: "Token refreshed" };
      },
      {
        response: { 200: AuthModel.detail, 401: ErrorBody, 415: ErrorBody, 429: ErrorBody },
        detail: {
          summary: "Refresh the session",
          description:
            "Rotates the refresh token cookie and issues a new access token. The rotated token presented again within REFRESH_GRACE_SECONDS (parallel refreshes of two tabs) gets the same pair (the newest one, if that successor was rotated in turn within its own window); reusing it later revokes the whole session.",
        },
      },
    )
    .post(
      "/api/logout/",
      async ({ cookie }) => {
        // Only the course client's own session: a dialect's token placed in the cookie ends nothing.
        const accessTokenUser = await cookieSession.verify(accessTokens, asText(cookie.access_token?.value));
        await accounts.logout(asText(cookie.refresh_token?.value), accessTokenUser);
        clearSessionCookies(cookie, config);
        return { detail: "Log-Out successfully! All Tokens will be deleted. Refresh token is now invalid." };
      },
      {
        response: { 200: AuthModel.detail, 415: ErrorBody },
        detail: {
          summary: "Log out",
          description:
            "Ends the session: its refresh token and its access tokens are refused on every replica at once, and its WebSockets close (4003).",
        },
      },
    )
    .post(
      "/api/password_reset/",
      async ({ body, request, server }) => {
        await accounts.requestPasswordReset(body, clientIp(request, server, config.trustProxy));
        return { detail: "An email has been sent to reset your password." };
      },
      {
        body: AuthModel.passwordResetBody,
        parse: "json",
        response: { 200: AuthModel.detail, ...errors },
        detail: {
          summary: "Request a password reset email",
          description: "Same answer whether or not the address has an account.",
        },
      },
    )
    .post(
      "/api/password_confirm/:uidb64/:token/",
      async ({ params, body }) => {
        await accounts.confirmPasswordReset(segment(params.uidb64), segment(params.token), body);
        return { detail: "Your Password has been successfully reset." };
      },
      {
        body: AuthModel.passwordConfirmBody,
        parse: "json",
        response: { 200: AuthModel.detail, 400: ErrorBody, 415: ErrorBody },
        detail: {
          summary: "Set a new password with the emailed link",
          description:
            "Ends every session of the user: refresh and access tokens are refused at once, WebSockets close (4003).",
        },
      },
    )
    .get("/api/me/", ({ user }) => ({ id: user.id, email: user.email, is_admin: user.isAdmin }), {
      auth: true,
      response: { 200: AuthModel.me, 401: ErrorBody },
      detail: { summary: "The signed-in user" },
    })
    .get(
      "/api/sessions/",
      async ({ user }) =>
        (await sessions.list(user.id)).map((session) => ({
          id: session.id,
          created_at: session.createdAt.toISOString(),
          last_used_at: session.lastUsedAt.toISOString(),
          user_agent: session.userAgent,
          ip: session.ip,
          current: session.id === user.sessionId,
        })),
      {
        auth: true,
        response: { 200: t.Array(AuthModel.session), 401: ErrorBody },
        detail: {
          tags: ["Sessions"],
          summary: "The signed-in user's sessions",
          description:
            "One per login that has not ended, the most recently used first; `current` marks this one.",
        },
      },
    )
    .delete(
      "/api/sessions/:id",
      async ({ user, params, set }) => {
        await sessions.revokeOwn(user.id, params.id);
        set.status = 204;
      },
      {
        auth: true,
        params: AuthModel.sessionParams,
        response: { 204: t.Void(), 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
        detail: {
          tags: ["Sessions"],
          summary: "End one of the signed-in user's sessions",
          description:
            "Its tokens are refused on every replica at once and its WebSockets close (4003). 404 for an id that is not one of the caller's sessions.",
        },
      },
    );
}
