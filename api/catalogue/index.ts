import { Elysia, t } from "elysia";
import type { authPlugin } from "../auth/plugin.ts";
import { badRequest, ErrorBody } from "../http/errors.ts";
import { LOCALISED, type languagePlugin } from "../shared/localisation.ts";
import { CatalogueModel } from "./model.ts";
import { presentVideoflix } from "./presenter.ts";
import type { CatalogueService } from "./service.ts";

const DEFAULT_LIMIT = 20;

export interface CatalogueRouteDeps {
  services: { catalogue: CatalogueService };
  auth: ReturnType<typeof authPlugin>;
  languages: ReturnType<typeof languagePlugin>;
}

const signedIn = { 401: ErrorBody } as const;
/** Localised routes also answer 400 for a `?lang=` that is not one of SUPPORTED_LANGUAGES. */
const localisedErrors = { 400: ErrorBody, ...signedIn } as const;

/** What signed-in viewers browse: the catalogue (Videoflix list and the richer API) and favorites. */
export function catalogueRoutes(deps: CatalogueRouteDeps) {
  const service = deps.services.catalogue;

  return new Elysia({ name: "catalogue" })
    .use(deps.auth)
    .use(deps.languages)
    .get("/api/video/", async ({ languages }) => (await service.all(languages)).map(presentVideoflix), {
      auth: true,
      localised: true,
      query: CatalogueModel.languageQuery,
      response: { 200: t.Array(CatalogueModel.videoflixVideo), ...localisedErrors },
      detail: {
        tags: ["Catalogue"],
        summary: "Videos ready to watch, newest first (Videoflix)",
        description: `The Videoflix client's list: every video with a published revision (one being re-transcoded stays listed). ${LOCALISED}`,
      },
    })
    .get("/api/categories/", ({ languages }) => service.categories(languages), {
      auth: true,
      localised: true,
      query: CatalogueModel.languageQuery,
      response: { 200: t.Array(CatalogueModel.category), ...localisedErrors },
      detail: {
        tags: ["Catalogue"],
        summary: "Categories that have videos to watch, alphabetical, with how many",
        description: `Names in the reader's language, sorted as that language sorts. ${LOCALISED}`,
      },
    })
    .get(
      "/api/videos/",
      async ({ query, user, languages }) => {
        const filter = { category: query.category, q: query.q };
        const limit = query.limit ?? DEFAULT_LIMIT;
        if (query.grouped === "category") {
          if (query.cursor !== undefined) {
            throw badRequest({ cursor: ["Rows per category are not paginated."] });
          }
          const rows = await service.grouped(filter, limit, languages);
          const videos = await service.forViewer(
            user.id,
            rows.flatMap((row) => row.videos),
          );
          const byId = new Map(videos.map((video) => [video.id, video]));
          return rows.map((row) => ({
            category: row.category,
            videos: row.videos.map((entry) => byId.get(entry.id)!),
          }));
        }
        const page = await service.page(filter, limit, query.cursor, languages);
        return { items: await service.forViewer(user.id, page.items), next_cursor: page.next_cursor };
      },
      {
        auth: true,
        localised: true,
        query: CatalogueModel.listQuery,
        response: {
          200: t.Union([CatalogueModel.page, t.Array(CatalogueModel.categoryRow)]),
          ...localisedErrors,
        },
        detail: {
          tags: ["Catalogue"],
          summary: "Browse, filter and search the catalogue",
          description: `Newest first, one page of \`limit\` at a time: \`{items, next_cursor}\`. \`category\` (id, or name in any supported language) and \`q\` (contained in the title or description of any supported language, any case) filter. With \`grouped=category\`: \`[{category, videos}]\`, one row per category (alphabetical in the reader's language) with its \`limit\` newest videos. Each video carries the signed-in user's \`progress\` and \`is_favorite\`. ${LOCALISED}`,
        },
      },
    )
    .get(
      "/api/videos/:id",
      async ({ params, user, languages }) =>
        (await service.forViewer(user.id, [await service.one(params.id, languages)]))[0]!,
      {
        auth: true,
        localised: true,
        params: CatalogueModel.idParams,
        query: CatalogueModel.languageQuery,
        response: { 200: CatalogueModel.video, 404: ErrorBody, ...localisedErrors },
        detail: { tags: ["Catalogue"], summary: "One video ready to watch", description: LOCALISED },
      },
    )
    .get(
      "/api/favorites/",
      ({ query, user, languages }) =>
        service.favorites(user.id, query.limit ?? DEFAULT_LIMIT, query.cursor, languages),
      {
        auth: true,
        localised: true,
        query: CatalogueModel.favoritesQuery,
        response: { 200: CatalogueModel.page, ...localisedErrors },
        detail: {
          tags: ["Favorites"],
          summary: "The signed-in user's favorites, most recently added first",
          description: `Paginated like \`GET /api/videos/\`; videos no longer listed are left out. ${LOCALISED}`,
        },
      },
    )
    .put(
      "/api/favorites/:videoId",
      async ({ params, user, set }) => {
        await service.addFavorite(user.id, params.videoId);
        set.status = 204;
      },
      {
        auth: true,
        params: CatalogueModel.videoIdParams,
        response: { 204: t.Void(), 404: ErrorBody, ...signedIn },
        detail: {
          tags: ["Favorites"],
          summary: "Mark a video as a favorite",
          description: "Idempotent: 204 every time. 404 for a video that is not listed.",
        },
      },
    )
    .delete(
      "/api/favorites/:videoId",
      async ({ params, user, set }) => {
        await service.removeFavorite(user.id, params.videoId);
        set.status = 204;
      },
      {
        auth: true,
        params: CatalogueModel.videoIdParams,
        response: { 204: t.Void(), 404: ErrorBody, ...signedIn },
        detail: {
          tags: ["Favorites"],
          summary: "Unmark a favorite",
          description:
            "Idempotent: 204 whether or not it was a favorite. 404 for a video that is not listed.",
        },
      },
    );
}
