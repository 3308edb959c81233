import { Elysia, t } from "elysia";
import { sessionResolver } from "../../auth/plugin.ts";
import type { AccountService } from "../../auth/service.ts";
import type { AccessTokens } from "../../auth/session.ts";
import type { CatalogueService } from "../../catalogue/service.ts";
import type { Config } from "../../config/load.ts";
import { clientIp } from "../../http/client-ip.ts";
import { ApiError, ErrorBody } from "../../http/errors.ts";
import type { languagePlugin } from "../../shared/localisation.ts";
import { renamedFields } from "../errors.ts";
import { clearContentCookies, contentAccessTokenOf, refreshCookieOf, setContentCookies } from "./cookies.ts";
import { ContentModel } from "./model.ts";
import {
  asErrorText,
  CONTENT_PREFIX,
  contentLinks,
  invalidCredentials,
  refreshRefused,
} from "./presenter.ts";
import { signedIn } from "./signed-in.ts";

export const CONTENT_TAG = "Dialect: content";

/** The dialect's name: its sessions' refresh families and access tokens carry it. */
const DIALECT = "content";

const asText = (value: unknown): string => (typeof value === "string" ? value : "");

/**
 * The content dialect: the API of velizarganchev's Videoflix backend (SimpleJWT in HttpOnly cookies)
 * that its Angular frontend calls, mounted at /compat/content/ so that the frontend's base URL becomes
 * `<backend>/compat/content` (it has no /api). Each route maps its body and answer onto our services;
 * the rules (passwords, limits, tokens) stay theirs. Signed-in routes read the `vf_access` cookie.
 */
export function contentRoutes(deps: {
  services: {
    accounts: AccountService;
    catalogue: CatalogueService;
    accessTokens: AccessTokens;
    /** `{ localised: true }`: titles in the language the frontend asks for (Accept-Language). */
    languages: ReturnType<typeof languagePlugin>;
  };
  config: Config;
}) {
  const { accounts, catalogue, accessTokens, languages } = deps.services;
  const { config } = deps;
  const links = contentLinks(config.publicUrl, config.compat.frontendUrls.content);
  const ipOf = (request: Request, server: Parameters<typeof clientIp>[1]) =>
    clientIp(request, server, config.trustProxy);
  const clientOf = (request: Request, server: Parameters<typeof clientIp>[1]) => ({
    userAgent: request.headers.get("user-agent"),
    ip: ipOf(request, server),
  });
  const sessionOf = sessionResolver(accessTokens, { tokenOf: contentAccessTokenOf, dialect: DIALECT });

  return new Elysia({ name: "compat-content", prefix: CONTENT_PREFIX, detail: { tags: [CONTENT_TAG] } })
    .get(
      "/users/email-exists/",
      async ({ query, request, server }) => ({
        exists: await accounts.emailExists(query.email, ipOf(request, server)),
      }),
      {
        query: ContentModel.emailQuery,
        response: { 200: ContentModel.emailExists, 400: ErrorBody, 429: ErrorBody },
        detail: {
          summary: "Whether an address has an account",
          description:
            "Truthful on purpose: the frontend's sign-up form cannot submit without it (and its forgot-password form needs `true`). It enumerates addresses by design of that client, so each lookup spends one of the client address's login attempts (RATE_LIMIT_LOGIN_IP); 429 past it.",
        },
      },
    )
    .post(
      "/users/register/",
      async ({ body, request, server, set }) => {
        const registration = {
          email: body.email,
          password: body.password,
          confirmed_password: body.confirm_password,
        };
        await accounts
          .register(registration, ipOf(request, server), links)
          .catch((error) => Promise.reject(renamedFields(error, { confirmed_password: "confirm_password" })));
        set.status = 201;
        return { email: body.email.trim() };
      },
      {
        body: ContentModel.registerBody,
        parse: "json",
        response: { 201: ContentModel.registered, 400: ErrorBody, 429: ErrorBody },
        detail: {
          summary: "Register",
          description:
            "Creates an inactive account and mails the activation link `<backend>/compat/content/users/confirm/?uid=&token=`. An address that has an account gets the same 201 (its owner a notice).",
        },
      },
    )
    .get(
      "/users/confirm/",
      async ({ query, redirect }) => {
        const uid = asText(query.uid);
        const token = asText(query.token);
        if (uid === "" || token === "") throw new ApiError(400, { error: "Missing uid or token." });
        if (!(await accounts.activate(uid, token)))
          throw new ApiError(400, { error: "Invalid or expired token." });
        return redirect(links({ kind: "login" }), 302);
      },
      {
        response: { 302: t.Any(), 400: ErrorBody },
        detail: {
          summary: "Activate with the emailed link; 302 to the frontend's /login",
          description:
            "The link of the activation mail opens this route in the browser. 400 `{error}` for a missing, used, expired or unknown link.",
        },
      },
    )
    .post(
      "/users/login/",
      async ({ body, request, server, cookie }) => {
        const session = await accounts.login(body, clientOf(request, server), DIALECT).catch((error) => {
          // The service's one answer for a wrong password, an unknown address and an inactive account.
          throw error instanceof ApiError && error.status === 400 ? invalidCredentials() : error;
        });
        setContentCookies(cookie, session, body.remember === true, config);
        const { id, email } = session.user;
        const favorites = await catalogue.favoriteIds(id);
        return { id, username: email, email, phone: null, address: null, favorite_videos: favorites };
      },
      {
        body: ContentModel.loginBody,
        parse: "json",
        response: { 200: ContentModel.user, 400: ErrorBody, 429: ErrorBody },
        detail: {
          summary: "Log in: the vf_access and vf_refresh cookies, and the user",
          description:
            "Sets `vf_access` (the access JWT) and `vf_refresh`, HttpOnly, SameSite=Lax, `Path=/compat/content/`: persistent with `remember: true`, browser-session cookies otherwise. The answer includes the user's `favorite_videos`. 400 `{non_field_errors}` for a wrong password, an unknown address and an inactive account alike. Starts a session listed in GET /api/sessions/.",
        },
      },
    )
    .post(
      "/users/refresh/",
      async ({ request, server, cookie }) => {
        const { token, remember } = refreshCookieOf(cookie);
        if (token === undefined) throw refreshRefused(true);
        const session = await accounts.refresh(token, clientOf(request, server), DIALECT).catch((error) => {
          throw error instanceof ApiError && error.status === 401 ? refreshRefused(false) : error;
        });
        setContentCookies(cookie, session, remember, config);
        return { detail: "Access token refreshed." };
      },
      {
        response: { 200: ContentModel.detail, 401: ContentModel.errorText, 415: ErrorBody, 429: ErrorBody },
        detail: {
          summary: "Rotate the vf_refresh cookie, a new vf_access",
          description:
            "The frontend refreshes on every 401 and retries with `X-Retry: 1`, without de-duplicating: the two parallel calls after an expired access cookie refresh the same token at once. Presented again within REFRESH_GRACE_SECONDS, a rotated token gets the same successor pair (or the newest down its chain); later, it revokes the session. 401 `{error}` without a working refresh cookie.",
        },
      },
    )
    .post(
      "/users/logout/",
      async ({ request, cookie }) => {
        const accessUser = await accessTokens.verify(contentAccessTokenOf(request));
        // A token of another client in this cookie ends nothing: it was never this dialect's session.
        const ownUser = accessUser?.dialect === DIALECT ? accessUser : null;
        await accounts.logout(refreshCookieOf(cookie).token, ownUser);
        clearContentCookies(cookie, config);
        return { message: "Successfully logged out." };
      },
      {
        response: { 200: ContentModel.message, 415: ErrorBody },
        detail: {
          summary: "Log out",
          description:
            "Ends the session of the cookies (its tokens are refused on every replica at once) and deletes them; 200 also without a working cookie (the frontend counts a 401 as logged out too).",
        },
      },
    )
    .post(
      "/users/forgot-password/",
      async ({ body, request, server }) => {
        const email = asText(body.email).trim();
        if (email === "") throw new ApiError(400, { error: "Email is required." });
        await accounts.requestPasswordReset({ email }, ipOf(request, server), links).catch((error) => {
          // The original answers 200 whatever the address; only a limit is worth telling the client.
          if (!(error instanceof ApiError) || error.status !== 400) throw error;
        });
        return { message: "If this email exists, a reset link has been sent." };
      },
      {
        body: ContentModel.forgotBody,
        parse: "json",
        response: { 200: ContentModel.message, 400: ErrorBody, 429: ErrorBody },
        detail: {
          summary: "Mail a reset link",
          description:
            "200 whether or not the address has an account; 400 `{error}` without one. The link is `<frontend>/reset-password?uid=&token=`.",
        },
      },
    )
    .post(
      "/users/reset-password/",
      async ({ body }) => {
        // The frontend's form checks the confirmation itself and sends the password once.
        const passwords = { new_password: body.new_password, confirm_password: body.new_password };
        await accounts
          .confirmPasswordReset(body.uid, body.token, passwords)
          .catch((error) => Promise.reject(asErrorText(error)));
        return { message: "Password has been reset successfully." };
      },
      {
        body: ContentModel.resetBody,
        parse: "json",
        response: { 200: ContentModel.message, 400: ErrorBody },
        detail: {
          summary: "Set a new password with the emailed uid and token",
          description:
            "400 `{error, …}` for a used or expired link and for a password our rules refuse (8+ characters, not a common one). Ends every session of the user.",
        },
      },
    )
    .use(signedIn(sessionOf, catalogue, languages));
}
