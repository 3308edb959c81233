import { Elysia, t } from "elysia";
import type { sessionResolver } from "../../auth/plugin.ts";
import type { CatalogueService } from "../../catalogue/service.ts";
import { ErrorBody, notFound } from "../../http/errors.ts";
import type { languagePlugin } from "../../shared/localisation.ts";
import { mp4UrlsOf, nearestLowerMp4 } from "../media.ts";
import { ContentModel } from "./model.ts";
import { presentContentVideo } from "./presenter.ts";

const unauthorized = { 401: ErrorBody };
// 400 for a `?lang=` that is not one of SUPPORTED_LANGUAGES (the frontend sends none).
const localisedErrors = { 400: ErrorBody, ...unauthorized };

/**
 * The routes behind the `vf_access` cookie: the catalogue, favorites and the player's MP4 URL. They
 * resolve the user themselves (a local hook) rather than by the `auth` macro, which is the course
 * cookie's. The tag comes with contentRoutes, which mounts these.
 */
export function signedIn(
  sessionOf: ReturnType<typeof sessionResolver>,
  catalogue: CatalogueService,
  languages: ReturnType<typeof languagePlugin>,
) {
  return new Elysia({ name: "compat-content-signed-in" })
    .use(languages)
    .resolve(({ request }) => sessionOf(request))
    .get("/content/", async ({ languages }) => (await catalogue.all(languages)).map(presentContentVideo), {
      localised: true,
      response: { 200: t.Array(ContentModel.video), ...localisedErrors },
      detail: {
        summary: "Every listed video, newest first",
        description:
          "The frontend groups rows by `category` and shows the last element (the oldest) as its teaser.",
      },
    })
    .post(
      "/content/add-favorite/",
      async ({ body, user }) => {
        const favorites = await catalogue.favoriteIds(user.id);
        if (favorites.includes(body.video_id)) await catalogue.removeFavorite(user.id, body.video_id);
        else await catalogue.addFavorite(user.id, body.video_id);
        return await catalogue.favoriteIds(user.id);
      },
      {
        body: ContentModel.favoriteBody,
        parse: "json",
        response: { 200: ContentModel.favoriteIds, 400: ErrorBody, 404: ErrorBody, ...unauthorized },
        detail: {
          summary: "Toggle a favorite; every favorite id",
          description:
            "Marks the video as a favorite, or unmarks it when it was one (the same favorites as /api/favorites/). 404 for a video that is not listed.",
        },
      },
    )
    .get(
      "/content/video-url/:id/",
      async ({ params, query, languages }) => {
        const entry = await catalogue.one(params.id, languages);
        const height =
          query.quality === undefined ? Number.POSITIVE_INFINITY : Number.parseInt(query.quality, 10);
        const source = nearestLowerMp4(mp4UrlsOf(entry), height);
        if (!source) throw notFound("This video has no progressive MP4 yet.");
        return { url: source.url };
      },
      {
        params: ContentModel.videoParams,
        query: ContentModel.qualityQuery,
        localised: true,
        response: { 200: ContentModel.videoUrl, 404: ErrorBody, ...localisedErrors },
        detail: {
          summary: "The signed MP4 URL of one rung",
          description:
            "The rung of `quality`, else the nearest lower one (else the lowest): the frontend picks the quality from the connection's speed, 120p included, and plays nothing on a 404. 404 for a video that is not listed or has no progressive MP4.",
        },
      },
    );
}
