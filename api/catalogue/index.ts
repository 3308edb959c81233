import { Elysia, t } from "elysia";
import type { authPlugin } from "../auth/plugin.ts";
import { badRequest, ErrorBody } from "../http/errors.ts";
import { CatalogueModel } from "./model.ts";
import { presentVideoflix } from "./presenter.ts";
import type { CatalogueService } from "./service.ts";

const DEFAULT_LIMIT = 20;

export interface CatalogueRouteDeps {
  services: { catalogue: CatalogueService };
  auth: ReturnType<typeof authPlugin>;
}

const signedIn = { 401: ErrorBody } as const;

/** What signed-in viewers browse: the catalogue (Videoflix list and the richer API) and favorites. */
export function catalogueRoutes(deps: CatalogueRouteDeps) {
  const service = deps.services.catalogue;

  return new Elysia({ name: "catalogue" })
    .use(deps.auth)
    .get("/api/video/", async () => (await service.all()).map(presentVideoflix), {
      auth: true,
      response: { 200: t.Array(CatalogueModel.videoflixVideo), ...signedIn },
      detail: {
        tags: ["Catalogue"],
        summary: "Videos ready to watch, newest first (Videoflix)",
        description:
          "The Videoflix client's list: every video with a published revision (one being re-transcoded stays listed).",
      },
    })
    .get("/api/categories/", () => service.categories(), {
      auth: true,
      response: { 200: t.Array(CatalogueModel.category), ...signedIn },
      detail: {
        tags: ["Catalogue"],
        summary: "Categories that have videos to watch, alphabetical, with how many",
      },
    })
    .get(
      "/api/videos/",
      async ({ query, user }) => {
        const filter = { category: query.category, q: query.q };
        const limit = query.limit ?? DEFAULT_LIMIT;
        if (query.grouped === "category") {
          if (query.cursor !== undefined) {
            throw badRequest({ cursor: ["Rows per category are not paginated."] });
          }
          const rows = await service.grouped(filter, limit);
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
        const page = await service.page(filter, limit, query.cursor);
        return { items: await service.forViewer(user.id, page.items), next_cursor: page.next_cursor };
      },
      {
        auth: true,
        query: CatalogueModel.listQuery,
        response: {
          200: t.Union([CatalogueModel.page, t.Array(CatalogueModel.categoryRow)]),
          400: ErrorBody,
          ...signedIn,
        },
        detail: {
          tags: ["Catalogue"],
          summary: "Browse, filter and search the catalogue",
          description:
            "Newest first, one page of `limit` at a time: `{items, next_cursor}`. `category` (id or name) and `q` (title contains, any case) filter. With `grouped=category`: `[{category, videos}]`, one row per category (alphabetical) with its `limit` newest videos. Each video carries the signed-in user's `progress` and `is_favorite`.",
        },
      },
    )
    .get(
      "/api/videos/:id",
      async ({ params, user }) => (await service.forViewer(user.id, [await service.one(params.id)]))[0]!,
      {
        auth: true,
        params: CatalogueModel.idParams,
        response: { 200: CatalogueModel.video, 404: ErrorBody, ...signedIn },
        detail: { tags: ["Catalogue"], summary: "One video ready to watch" },
      },
    )
    .get(
      "/api/favorites/",
      ({ query, user }) => service.favorites(user.id, query.limit ?? DEFAULT_LIMIT, query.cursor),
      {
        auth: true,
        query: CatalogueModel.favoritesQuery,
        response: { 200: CatalogueModel.page, 400: ErrorBody, ...signedIn },
        detail: {
          tags: ["Favorites"],
          summary: "The signed-in user's favorites, most recently added first",
          description: "Paginated like `GET /api/videos/`; videos no longer listed are left out.",
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
