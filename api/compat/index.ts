// The client dialects: other Videoflix frontends, each written for another Django backend, answered
// under /compat/<dialect>/ by thin adapters over the same services. Only the dialects COMPAT_DIALECTS
// names are mounted: any other /compat/ path is a 404 like every unknown route.
import { type AnyElysia, Elysia } from "elysia";
import type { AccountService } from "../auth/service.ts";
import type { AccessTokens } from "../auth/session.ts";
import type { CatalogueService } from "../catalogue/service.ts";
import type { AvailableDialect } from "../config/compat.ts";
import type { Config } from "../config/load.ts";
import type { WatchProgressService } from "../progress/service.ts";
import type { languagePlugin } from "../shared/localisation.ts";
import { AUTHEMAIL_TAG, authemailRoutes, type MediaTokenSigner } from "./authemail/index.ts";
import { CONTENT_TAG, contentRoutes } from "./content/index.ts";
import { DJOSER_TAG, djoserRoutes } from "./djoser/index.ts";
import { dialectCatalogue } from "./media.ts";

/** Where every dialect lives: its routes authenticate by its own credentials, never our cookies. */
export const COMPAT_PREFIX = "/compat/";

export interface CompatDeps {
  services: {
    accounts: AccountService;
    catalogue: CatalogueService;
    watchProgress: WatchProgressService;
    accessTokens: AccessTokens;
    mediaTokens: MediaTokenSigner;
    /** `{ localised: true }`: titles in the language the frontend asks for (Accept-Language). */
    languages: ReturnType<typeof languagePlugin>;
  };
  config: Config;
}

const DIALECT_ROUTES: Record<AvailableDialect, (deps: CompatDeps) => AnyElysia> = {
  djoser: djoserRoutes,
  authemail: authemailRoutes,
  content: contentRoutes,
};

/** The OpenAPI tag of each dialect, shown for the enabled ones. */
const DIALECT_TAGS: Record<AvailableDialect, { name: string; description: string }> = {
  djoser: {
    name: DJOSER_TAG,
    description:
      "The djoser + SimpleJWT API of Seldir193/Videoflix_frontend (base URL `<backend>/compat/djoser/api`): Bearer access tokens, a refresh token that is never rotated",
  },
  authemail: {
    name: AUTHEMAIL_TAG,
    description:
      "The django-rest-authemail + DRF API of enesesine/VideoflixFrontend (bases `<backend>/compat/authemail/api/accounts` and `<backend>/compat/authemail/api`): `Authorization: Token <key>`, one long-lived key per login",
  },
  content: {
    name: CONTENT_TAG,
    description:
      "The cookie-JWT API of velizarganchev/videoflix-frontend (base URL `<backend>/compat/content`): `vf_access` / `vf_refresh` HttpOnly cookies under /compat/content/, refreshed on 401 with a grace window for its parallel refreshes",
  },
};

export const compatTags = (config: Pick<Config, "compat">) =>
  config.compat.dialects.map((dialect) => DIALECT_TAGS[dialect]);

/** Every enabled dialect's routes. */
export function compatRoutes(deps: CompatDeps) {
  const app = new Elysia({ name: "compat" });
  const dialectDeps = {
    ...deps,
    services: { ...deps.services, catalogue: dialectCatalogue(deps.services.catalogue) },
  };
  for (const dialect of deps.config.compat.dialects) app.use(DIALECT_ROUTES[dialect](dialectDeps));
  return app;
}
