import { Elysia, t } from "elysia";
import type { AccountService } from "../../auth/service.ts";
import type { AccessTokens } from "../../auth/session.ts";
import type { CatalogueService } from "../../catalogue/service.ts";
import type { Config } from "../../config/load.ts";
import { clientIp } from "../../http/client-ip.ts";
import { ApiError, ErrorBody, forbidden, notFound, unauthorized } from "../../http/errors.ts";
import { LOCALISED, type languagePlugin } from "../../shared/localisation.ts";
import { mp4UrlsOf } from "../media.ts";
import { ApiKeys, AUTHEMAIL_DIALECT } from "./api-keys.ts";
import { AuthemailModel } from "./model.ts";
import {
  AUTHEMAIL_PREFIX,
  authemailLinks,
  heightOfFile,
  loginRefused,
  partsOfCode,
  presentAuthemailVideo,
  presentCategory,
  resetFieldErrors,
  sourceOfFile,
  unverified,
} from "./presenter.ts";

export const AUTHEMAIL_TAG = "Dialect: authemail";

/** Where a login or a key's use came from (the user's list of sessions shows it). */
type SessionClient = Parameters<AccountService["renewAccess"]>[1];

/** The signed `?token=` of media URLs (the playlists' MediaTokens), handed over by the composition root. */
export interface MediaTokenSigner {
  mint(videoId: number): string;
  check(videoId: number, token: string): { ok: true } | { ok: false; reason: string };
}

export interface AuthemailDeps {
  services: {
    accounts: AccountService;
    catalogue: CatalogueService;
    accessTokens: AccessTokens;
    mediaTokens: MediaTokenSigner;
    languages: ReturnType<typeof languagePlugin>;
  };
  config: Config;
}

/**
 * The authemail dialect: the API of enesesine's Videoflix backend (django-rest-authemail + DRF
 * TokenAuthentication) that its Angular frontend calls, mounted at /compat/authemail/ so that the
 * frontend's two hard-coded bases become `<backend>/compat/authemail/api/accounts` and
 * `<backend>/compat/authemail/api`. Each route maps its body and answer onto our services; the rules
 * (passwords, limits, enumeration safety, sessions) stay theirs. Signed-in routes take
 * `Authorization: Token <key>` (api-keys.ts); the public ones never read it.
 */
export function authemailRoutes(deps: AuthemailDeps) {
  const { accounts, catalogue, accessTokens, mediaTokens, languages } = deps.services;
  const { config } = deps;
  const links = authemailLinks(config.compat.frontendUrls.authemail);
  const keys = new ApiKeys({ accounts, accessTokens });
  const clientOf = (request: Request, server: Parameters<typeof clientIp>[1]): SessionClient => ({
    userAgent: request.headers.get("user-agent"),
    ip: clientIp(request, server, config.trustProxy),
  });
  const unauthorizedError = { 401: ErrorBody };

  return new Elysia({
    name: "compat-authemail",
    prefix: AUTHEMAIL_PREFIX,
    detail: { tags: [AUTHEMAIL_TAG] },
  })
    .post(
      "/api/accounts/signup/",
      async ({ body, request, server, set }) => {
        // The frontend checks the confirmation itself and sends the password once.
        const registration = {
          email: body.email,
          password: body.password,
          confirmed_password: body.password,
        };
        await accounts.register(registration, clientOf(request, server).ip, links);
        set.status = 201;
        return { email: body.email.trim(), first_name: "", last_name: "" };
      },
      {
        body: AuthemailModel.signupBody,
        parse: "json",
        response: { 201: AuthemailModel.signedUp, 400: ErrorBody, 429: ErrorBody },
        detail: {
          summary: "Sign up",
          description:
            "Creates an unverified account and mails `<frontend>/email-verify?code=<code>`. 400 `{email: [...]}` or `{password: [...]}` (what the frontend shows). An address that has an account gets the same 201 (authemail: 400 `Email address already taken.`).",
        },
      },
    )
    .get(
      "/api/accounts/signup/verify/",
      async ({ query }) => {
        const parts = partsOfCode(query.code);
        if (!parts || !(await accounts.activate(parts.uid, parts.token))) throw unverified();
        return { success: "Email address verified." };
      },
      {
        query: AuthemailModel.codeQuery,
        response: { 200: AuthemailModel.success, 400: ErrorBody },
        detail: {
          summary: "Verify the address with the emailed code",
          description:
            '200 `{success}`, or 400 `{detail: "Unable to verify user."}` for a used, expired or unknown code.',
        },
      },
    )
    .post(
      "/api/accounts/login/",
      async ({ body, request, server }) => {
        const session = await accounts
          .login(body, clientOf(request, server), AUTHEMAIL_DIALECT, config.compat.authemailTokenTtlSeconds)
          .catch((error) => {
            // The service's one answer for a wrong password, an unknown address and an unverified account.
            throw error instanceof ApiError && error.status === 400 ? loginRefused() : error;
          });
        return { token: session.refreshToken };
      },
      {
        body: AuthemailModel.loginBody,
        parse: "json",
        response: { 200: AuthemailModel.token, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody },
        detail: {
          summary: "Log in: an API key",
          description:
            "A new key per login, a session listed in GET /api/sessions/. 401 `{detail}` for a wrong password, an unknown address and an unverified or deactivated account alike.",
        },
      },
    )
    .post(
      "/api/accounts/password/reset/",
      async ({ body, request, server, set }) => {
        await accounts.requestPasswordReset(body, clientOf(request, server).ip, links);
        set.status = 201;
        return { email: body.email.trim() };
      },
      {
        body: AuthemailModel.resetBody,
        parse: "json",
        response: { 201: AuthemailModel.resetRequested, 400: ErrorBody, 429: ErrorBody },
        detail: {
          summary: "Mail a reset link",
          description:
            "201 `{email}` whether or not the address has an account (authemail: 400 for an unknown one); the link is `<frontend>/new-password?code=<code>`. 400 `{email: [...]}` for what is not an address.",
        },
      },
    )
    .get(
      "/api/accounts/password/reset/verify/",
      async ({ query }) => {
        const parts = partsOfCode(query.code);
        if (!parts || !(await accounts.isPasswordResetUsable(parts.uid, parts.token))) throw unverified();
        return { success: "Email address verified." };
      },
      {
        query: AuthemailModel.codeQuery,
        response: { 200: AuthemailModel.success, 400: ErrorBody },
        detail: {
          summary: "Check a reset code without using it",
          description: "200 `{success}` while the code can still be used, else 400 `{detail}`.",
        },
      },
    )
    .post(
      "/api/accounts/password/reset/verified/",
      async ({ body }) => {
        const parts = partsOfCode(body.code);
        if (!parts) throw unverified();
        const passwords = { new_password: body.password, confirm_password: body.password };
        await accounts
          .confirmPasswordReset(parts.uid, parts.token, passwords)
          .catch((error) => Promise.reject(resetFieldErrors(error)));
        return { success: "Password reset." };
      },
      {
        body: AuthemailModel.resetVerifiedBody,
        parse: "json",
        response: { 200: AuthemailModel.success, 400: ErrorBody },
        detail: {
          summary: "Set a new password with the emailed code",
          description:
            "200 `{success}`; 400 `{password: [...]}` for a weak one, `{detail}` for a used, expired or unknown code. Ends every session of the user (every key included).",
        },
      },
    )
    .get(
      // MEDIA_PATH under the prefix.
      "/media/:id/:file",
      async ({ params, query }) => {
        const height = heightOfFile(params.file);
        if (height === null) throw notFound();
        // The <video> element sends no Authorization: the signed token of the list authorizes the video.
        if (query.token === undefined) throw unauthorized();
        const checked = mediaTokens.check(params.id, query.token);
        if (!checked.ok) throw forbidden(checked.reason);
        // The MP4s are the same in every language: the default one's entry will do.
        const entry = await catalogue.one(params.id, [config.supportedLanguages[0]]);
        const source = sourceOfFile(mp4UrlsOf(entry), height);
        if (!source) throw notFound("No such rendition.");
        // The target is signed for this client: never for a shared cache.
        return new Response(null, {
          status: 302,
          headers: { location: source.url, "cache-control": "private, max-age=60" },
        });
      },
      {
        params: AuthemailModel.mediaParams,
        query: AuthemailModel.mediaQuery,
        response: { 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
        detail: {
          summary: "A rung's progressive MP4 (the player's URL rewriting)",
          description:
            "302 to the signed MP4 of the rung: `video.mp4` the tallest, `video_<N>p.mp4` the rung N px tall, 404 when the video has no such rung (the player then tries the next one). 401 without `token`, 403 for a tampered or expired one.",
        },
      },
    )
    .use(
      signedIn(
        { keys, catalogue, accounts, mediaTokens, languages, publicUrl: config.publicUrl, clientOf },
        unauthorizedError,
      ),
    );
}

/**
 * The routes behind the Token key: logout, the categories and the list. They resolve the user
 * themselves (a local hook) rather than by the `auth` macro: macros merge into the app by name, and
 * that one is the course cookie's.
 */
function signedIn(
  deps: {
    keys: ApiKeys;
    catalogue: CatalogueService;
    accounts: AccountService;
    mediaTokens: MediaTokenSigner;
    languages: ReturnType<typeof languagePlugin>;
    publicUrl: string;
    clientOf: (request: Request, server: Parameters<typeof clientIp>[1]) => SessionClient;
  },
  unauthorizedError: { 401: typeof ErrorBody },
) {
  const { keys, catalogue, accounts, mediaTokens, publicUrl, clientOf } = deps;
  // 400 for a `?lang=` that is not one of SUPPORTED_LANGUAGES (the frontend sends none).
  const localisedErrors = { 400: ErrorBody, ...unauthorizedError };
  // The tag comes with authemailRoutes, which mounts these.
  return new Elysia({ name: "compat-authemail-signed-in" })
    .use(deps.languages)
    .resolve(({ request, server }) => keys.userOf(request, clientOf(request, server)))
    .get(
      "/api/accounts/logout/",
      async ({ request, user }) => {
        await accounts.logout(undefined, user);
        keys.forget(request);
        return { success: "User logged out." };
      },
      {
        response: { 200: AuthemailModel.success, ...unauthorizedError },
        detail: {
          summary: "Log out: the key stops working",
          description:
            "Ends the session of the presented key (authemail deletes the user's one key, which all their devices share; here each login has a key of its own).",
        },
      },
    )
    .get(
      "/api/categories/",
      async ({ languages }) => (await catalogue.categories(languages)).map(presentCategory),
      {
        localised: true,
        response: { 200: t.Array(AuthemailModel.category), ...localisedErrors },
        detail: {
          summary: "The categories that have videos, alphabetical",
          description: `\`[{id, name, slug}]\`: the frontend shows a row for each (authemail: every category, empty ones included). ${LOCALISED}`,
        },
      },
    )
    .get(
      "/api/videos/",
      async ({ languages }) =>
        (await catalogue.all(languages)).map((entry) =>
          presentAuthemailVideo(entry, mp4UrlsOf(entry), { publicUrl, token: mediaTokens.mint(entry.id) }),
        ),
      {
        localised: true,
        response: { 200: t.Array(AuthemailModel.video), ...localisedErrors },
        detail: {
          summary: "Every listed video, newest first",
          description: `Each with its category \`{id, name, slug}\` and \`file\`, the signed URL of its tallest MP4 (\`video_<N>p.mp4\` in its place: the rung N px tall, 404 when missing; signed for MEDIA_TOKEN_TTL). \`file\` is null, and \`resolutions\` empty, while the video has no MP4. ${LOCALISED}`,
        },
      },
    );
}
