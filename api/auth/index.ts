import { Elysia } from "elysia";
import type { Config } from "../config/load.ts";
import { clientIp } from "../http/client-ip.ts";
import { ErrorBody } from "../http/errors.ts";
import { clearSessionCookies, setSessionCookies } from "./cookies.ts";
import { AuthModel } from "./model.ts";
import type { authPlugin } from "./plugin.ts";
import type { AccountService } from "./service.ts";

const errors = { 400: ErrorBody, 415: ErrorBody, 429: ErrorBody } as const;

/**
 * A path segment of an emailed link as it arrived. There is no params schema on purpose: a garbled
 * link (Elysia hands over null for malformed percent-encoding) must get the route's own "invalid
 * link" answer, not a schema error in another shape.
 */
const segment = (value: string | null | undefined): string => (typeof value === "string" ? value : "");

/** The Videoflix account endpoints; paths keep their trailing slash as the existing clients call them. */
export function authRoutes(deps: {
  services: {
    accounts: AccountService;
    /** Ends the session of the access token's user everywhere else too (their WebSockets close). */
    announceLogout: (accessToken: string | undefined) => Promise<void>;
  };
  auth: ReturnType<typeof authPlugin>;
  config: Config;
}) {
  const { accounts, announceLogout } = deps.services;
  const { config } = deps;
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
        const session = await accounts.login(body, clientIp(request, server, config.trustProxy));
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
          cookie.refresh_token?.value as string | undefined,
          clientIp(request, server, config.trustProxy),
        );
        setSessionCookies(cookie, session, config);
        return { detail: "Token refreshed" };
      },
      {
        response: { 200: AuthModel.detail, 401: ErrorBody, 415: ErrorBody, 429: ErrorBody },
        detail: {
          summary: "Refresh the session",
          description:
            "Rotates the refresh token cookie and issues a new access token. Reusing a rotated refresh token revokes the whole session.",
        },
      },
    )
    .post(
      "/api/logout/",
      async ({ cookie }) => {
        await accounts.logout(cookie.refresh_token?.value as string | undefined);
        await announceLogout(cookie.access_token?.value as string | undefined); // closes the user's WebSockets
        clearSessionCookies(cookie, config);
        return { detail: "Log-Out successfully! All Tokens will be deleted. Refresh token is now invalid." };
      },
      {
        response: { 200: AuthModel.detail, 415: ErrorBody },
        detail: { summary: "Log out (revokes the refresh token)" },
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
          description: "Revokes every session of the user.",
        },
      },
    )
    .get("/api/me/", ({ user }) => ({ id: user.id, email: user.email, is_admin: user.isAdmin }), {
      auth: true,
      response: { 200: AuthModel.me, 401: ErrorBody },
      detail: { summary: "The signed-in user" },
    });
}
