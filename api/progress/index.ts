import { Elysia, t } from "elysia";
import type { authPlugin } from "../auth/plugin.ts";
import type { Config } from "../config/load.ts";
import { ErrorBody } from "../http/errors.ts";
import { LOCALISED, type languagePlugin } from "../shared/localisation.ts";
import { ProgressModel } from "./model.ts";
import { presentContinueWatching } from "./presenter.ts";
import type { WatchProgressService } from "./service.ts";

/** Watch progress of the signed-in user: player heartbeats and the "continue watching" row. */
export function progressRoutes(deps: {
  services: { watchProgress: WatchProgressService };
  auth: ReturnType<typeof authPlugin>;
  languages: ReturnType<typeof languagePlugin>;
  config: Pick<Config, "publicUrl">;
}) {
  const service = deps.services.watchProgress;
  const { publicUrl } = deps.config;
  return new Elysia({ name: "watch-progress", detail: { tags: ["Watch progress"] } })
    .use(deps.auth)
    .use(deps.languages)
    .put(
      "/api/progress/:videoId",
      // No await of its own: the answer is the 204 once Redis has the heartbeat (Elysia awaits it).
      ({ params, body, user, set }) => {
        set.status = 204;
        return service.record(user.id, params.videoId, body.position_seconds, body.sent_at);
      },
      {
        auth: true,
        params: ProgressModel.videoParams,
        body: ProgressModel.heartbeat,
        response: { 204: t.Void(), 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
        detail: {
          summary: "Player heartbeat: where the user is in a video",
          description:
            "Sent by the player every few seconds. Accepted into Redis (no database write per heartbeat) and written to PostgreSQL in batches every PROGRESS_FLUSH_INTERVAL_SECONDS, one write per user and video. 404 for a video that is not published; 400 for a position that is negative, not a number or past the end.",
          // Spelled out: the api's own JSON parser hides the body schema from the generated document.
          requestBody: {
            required: true,
            content: { "application/json": { schema: ProgressModel.heartbeat } },
          } as never,
        },
      },
    )
    .get(
      "/api/progress/",
      async ({ user, languages }) =>
        (await service.continueWatching(user.id)).map((entry) =>
          presentContinueWatching(publicUrl, entry, languages),
        ),
      {
        auth: true,
        localised: true,
        query: ProgressModel.languageQuery,
        response: { 200: ProgressModel.continueWatching, 400: ErrorBody, 401: ErrorBody },
        detail: {
          summary: "Continue watching: started, unfinished videos, most recent first",
          description: `Videos with a position > 0 and below 95% of their duration, including heartbeats not yet flushed to the database. At most 100. ${LOCALISED}`,
        },
      },
    );
}
