import { Elysia, t } from "elysia";
import { bearerTokenOf, sessionResolver } from "../../auth/plugin.ts";
import type { AccountService } from "../../auth/service.ts";
import type { AccessTokens } from "../../auth/session.ts";
import type { CatalogueEntry } from "../../catalogue/model.ts";
import type { CatalogueService } from "../../catalogue/service.ts";
import type { Config } from "../../config/load.ts";
import { clientIp } from "../../http/client-ip.ts";
import { ApiError, ErrorBody } from "../../http/errors.ts";
import type { WatchProgressService } from "../../progress/service.ts";
import { type LanguagePreference, LOCALISED, type languagePlugin } from "../../shared/localisation.ts";
import { renamedFields } from "../errors.ts";
import { DjoserModel } from "./model.ts";
import { djoserLinks, noActiveAccount, presentDjoserVideo, refreshRefused } from "./presenter.ts";

export const DJOSER_TAG = "Dialect: djoser";

/** The dialect's name: its sessions' refresh families and access tokens carry it. */
const DIALECT = "djoser";

/**
 * The djoser dialect: the API of Seldir193's Videoflix backend (djoser + SimpleJWT) that its Angular
 * frontend calls, mounted at /compat/djoser/ so that the frontend's base URL becomes
 * `<backend>/compat/djoser/api`. Each route maps its body and answer onto our services; the rules
 * (passwords, limits, enumeration safety, tokens) stay theirs. Signed-in routes take
 * `Authorization: Bearer <access>`; the public ones never read it (the frontend sends a stale one on
 * every call).
 */
export function djoserRoutes(deps: {
  services: {
    accounts: AccountService;
    catalogue: CatalogueService;
    watchProgress: WatchProgressService;
    accessTokens: AccessTokens;
    languages: ReturnType<typeof languagePlugin>;
  };
  config: Config;
}) {
  const { accounts, catalogue, watchProgress, accessTokens, languages } = deps.services;
  const { config } = deps;
  const links = djoserLinks(config.compat.frontendUrls.djoser);
  const ipOf = (request: Request, server: Parameters<typeof clientIp>[1]) =>
    clientIp(request, server, config.trustProxy);
  const sessionOf = sessionResolver(accessTokens, { tokenOf: bearerTokenOf, dialect: DIALECT });
  const unauthorizedError = { 401: ErrorBody };

  return new Elysia({ name: "compat-djoser", prefix: "/compat/djoser/api", detail: { tags: [DJOSER_TAG] } })
    .post(
      "/auth/users/",
      async ({ body, request, server, set }) => {
        const registration = {
          email: body.email,
          password: body.password,
          confirmed_password: body.re_password,
        };
        await accounts
          .register(registration, ipOf(request, server), links)
          .catch((error) => Promise.reject(renamedFields(error, { confirmed_password: "re_password" })));
        set.status = 201;
        return { email: body.email.trim() };
      },
      {
        body: DjoserModel.registerBody,
        parse: "json",
        response: { 201: DjoserModel.registered, 400: ErrorBody, 429: ErrorBody },
        detail: {
          summary: "Register (djoser users/)",
          description:
            "Creates an inactive account and mails the activation link `<frontend>/auth/activate/<uid>/<token>`. An address that has an account gets the same answer.",
        },
      },
    )
    .post(
      "/auth/users/activation/",
      async ({ body, set }) => {
        if (!(await accounts.activate(body.uid, body.token)))
          throw new ApiError(400, { token: ["Invalid token for given user."] });
        set.status = 204;
      },
      {
        body: DjoserModel.activationBody,
        parse: "json",
        response: { 204: t.Void(), 400: ErrorBody },
        detail: {
          summary: "Activate with the emailed uid and token",
          description: "204, or 400 for a used, expired or unknown link.",
        },
      },
    )
    .post(
      "/auth/jwt/create/",
      async ({ body, request, server }) => {
        const client = { userAgent: request.headers.get("user-agent"), ip: ipOf(request, server) };
        const session = await accounts.login(body, client, DIALECT).catch((error) => {
          // The service's one answer for a wrong password, an unknown address and an inactive account.
          throw error instanceof ApiError && error.status === 400 ? noActiveAccount() : error;
        });
        return { access: session.accessToken, refresh: session.refreshToken };
      },
      {
        body: DjoserModel.loginBody,
        parse: "json",
        response: { 200: DjoserModel.tokens, 400: ErrorBody, 401: DjoserModel.codedError, 429: ErrorBody },
        detail: {
          summary: "Log in: a Bearer access token and a refresh token",
          description:
            '401 `{detail, code: "no_active_account"}` for a wrong password, an unknown address and an inactive account alike. Starts a session listed in GET /api/sessions/.',
        },
      },
    )
    .post(
      "/auth/jwt/refresh/",
      async ({ body, request, server }) => {
        const client = { userAgent: request.headers.get("user-agent"), ip: ipOf(request, server) };
        const session = await accounts.renewAccess(body.refresh, client, DIALECT).catch((error) => {
          throw error instanceof ApiError && error.status === 401 ? refreshRefused() : error;
        });
        return { access: session.accessToken };
      },
      {
        body: DjoserModel.refreshBody,
        parse: "json",
        response: { 200: DjoserModel.access, 400: ErrorBody, 429: ErrorBody },
        detail: {
          summary: "A new access token for the session's refresh token",
          description:
            'The refresh token is not rotated: the frontend keeps re-sending the one of its login. A refresh token that does not work (revoked, expired, another client\'s) answers 400 `{detail, code: "token_not_valid"}`, not 401, which the frontend would answer with another refresh.',
        },
      },
    )
    .post(
      "/auth/users/reset_password/",
      async ({ body, request, server, set }) => {
        await accounts.requestPasswordReset(body, ipOf(request, server), links).catch((error) => {
          // djoser answers 204 whatever the address; only a limit is worth telling the client.
          if (!(error instanceof ApiError) || error.status !== 400) throw error;
        });
        set.status = 204;
      },
      {
        body: DjoserModel.resetBody,
        parse: "json",
        response: { 204: t.Void(), 400: ErrorBody, 429: ErrorBody },
        detail: {
          summary: "Mail a reset link",
          description:
            "204 whether or not the address has an account; the link is `<frontend>/auth/reset-password/<uid>/<token>`.",
        },
      },
    )
    .post(
      "/auth/users/reset_password_confirm/",
      async ({ body, set }) => {
        const passwords = { new_password: body.new_password, confirm_password: body.re_new_password };
        await accounts
          .confirmPasswordReset(body.uid, body.token, passwords)
          .catch((error) => Promise.reject(renamedFields(error, { confirm_password: "re_new_password" })));
        set.status = 204;
      },
      {
        body: DjoserModel.resetConfirmBody,
        parse: "json",
        response: { 204: t.Void(), 400: ErrorBody },
        detail: {
          summary: "Set a new password with the emailed uid and token",
          description: "Ends every session of the user (djoser's and the other clients' alike).",
        },
      },
    )
    .use(signedIn(sessionOf, { catalogue, watchProgress, languages }, unauthorizedError));
}

/**
 * As a video ends, the frontend saves twice at once: its last position (on `pause`) and 0 (on `ended`,
 * meaning "start over next time"). Whichever request lands last wins, and a position at the very end
 * makes its player seek there and stop at once. So the end reads as 0, whatever the order.
 */
const END_SECONDS = 1;
const atTheEnd = (position: number, duration: number) => duration > 0 && position >= duration - END_SECONDS;

/**
 * The routes behind the Bearer token: the catalogue and watch progress of the signed-in user. They
 * resolve the user themselves (a local hook) rather than by the `auth` macro: macros merge into the
 * app by name, and that one is the course cookie's. The videos come in the frontend's language (its
 * `Accept-Language: en|de`), as the original's django-modeltranslation served them.
 */
function signedIn(
  sessionOf: ReturnType<typeof sessionResolver>,
  services: {
    catalogue: CatalogueService;
    watchProgress: WatchProgressService;
    languages: ReturnType<typeof languagePlugin>;
  },
  unauthorizedError: { 401: typeof ErrorBody },
) {
  const { catalogue, watchProgress } = services;
  // 400 for a `?lang=` that is not one of SUPPORTED_LANGUAGES (the frontend sends none).
  const localisedErrors = { 400: ErrorBody, ...unauthorizedError };
  // Each entry's category in the default language (the last of every preference), by id: the key of
  // the frontend's rows (presentDjoserVideo). One the list lacks (created a moment ago) keeps its own name.
  const presented = async (entries: CatalogueEntry[], languages: LanguagePreference) => {
    const inDefault = await catalogue.categories([languages[languages.length - 1]!]);
    const keyOf = new Map(inDefault.map((category) => [category.id, category.name]));
    return entries.map((entry) => presentDjoserVideo(entry, keyOf.get(entry.category_id) ?? entry.category));
  };
  const progressOf = async (userId: number, video: number) => {
    const progress = await watchProgress.positionIn(userId, video);
    const position = progress?.positionSeconds ?? 0;
    const duration = progress?.durationSeconds ?? 0;
    return { video, position: atTheEnd(position, duration) ? 0 : position, duration };
  };
  // The tag comes with djoserRoutes, which mounts these.
  return (
    new Elysia({ name: "compat-djoser-signed-in" })
      .use(services.languages)
      .resolve(({ request }) => sessionOf(request))
      .get("/videos/", async ({ languages }) => presented(await catalogue.all(languages), languages), {
        localised: true,
        response: { 200: t.Array(DjoserModel.video), ...localisedErrors },
        detail: { summary: "Every listed video, newest first", description: LOCALISED },
      })
      .get(
        "/videos/:id/",
        async ({ params, languages }) =>
          (await presented([await catalogue.one(params.id, languages)], languages))[0]!,
        {
          localised: true,
          params: DjoserModel.videoParams,
          response: { 200: DjoserModel.video, 404: ErrorBody, ...localisedErrors },
          detail: { summary: "One listed video", description: LOCALISED },
        },
      )
      .get(
        "/trailers/",
        async ({ languages }) => presented((await catalogue.all(languages)).slice(0, 1), languages),
        {
          localised: true,
          response: { 200: t.Array(DjoserModel.video), ...localisedErrors },
          detail: {
            summary: "The hero: the newest video",
            description: `The catalogue has no trailers of its own; the frontend shows the first entry as its hero. ${LOCALISED}`,
          },
        },
      )
      .post(
        "/progress/",
        async ({ body, user, set }) => {
          await watchProgress.record(user.id, body.video, body.position);
          set.status = 201;
          return await progressOf(user.id, body.video);
        },
        {
          body: DjoserModel.progressBody,
          parse: "json",
          response: { 201: DjoserModel.progress, 400: ErrorBody, 404: ErrorBody, ...unauthorizedError },
          detail: {
            summary: "Save where the user is in a video",
            description:
              "A heartbeat like PUT /api/progress/<id> (coalesced in Redis); 404 for a video that is not listed.",
          },
        },
      )
      // Elysia matches the path with and without the trailing slash: the frontend sends none.
      .get("/progress/get_progress", async ({ query, user }) => progressOf(user.id, query.video), {
        query: DjoserModel.progressQuery,
        response: { 200: DjoserModel.progress, 400: ErrorBody, ...unauthorizedError },
        detail: {
          summary: "Where the user is in a video",
          description:
            "`{video, position, duration}`; zeros when the user never started it, position 0 within a second of the end (finished: the player starts over). With or without the slash.",
        },
      })
  );
}
