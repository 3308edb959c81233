import { Type } from "@sinclair/typebox";
import { t } from "elysia";
import { VideoIdParams } from "../http/params.ts";
import { LangQuery } from "../shared/localisation.ts";

export const ProgressModel = {
  videoParams: VideoIdParams,
  languageQuery: t.Object({ lang: LangQuery }),
  heartbeat: t.Object(
    {
      position_seconds: t.Number({
        minimum: 0,
        description: "Playback position in seconds; at most the video's duration (plus a few seconds)",
      }),
      sent_at: t.Optional(
        // TypeBox's own Integer: a JSON body's number needs no coercion, and Elysia's `t.Integer` (a
        // transform from digit strings) made every heartbeat's body go through a Decode walk.
        t.Union([t.String({ format: "date-time" }), Type.Integer({ minimum: 0 })], {
          description:
            "When the player sent the heartbeat (ISO 8601 or epoch milliseconds; default: now). The latest by this wins, whatever order heartbeats arrive in.",
        }),
      ),
    },
    { examples: [{ position_seconds: 754.2, sent_at: "2026-11-24T09:30:05.120Z" }] },
  ),
  continueWatching: t.Array(
    t.Object({
      id: t.Integer(),
      title: t.String(),
      thumbnail_url: t.Nullable(t.String({ format: "uri" })),
      duration_seconds: t.Number(),
      position_seconds: t.Number(),
      percent: t.Number({ description: "position / duration, 0–95 (one decimal)" }),
      updated_at: t.String({ format: "date-time", description: "When the user last watched it" }),
    }),
    {
      examples: [
        [
          {
            id: 7,
            title: "Big Buck Bunny",
            thumbnail_url: "https://api.example.com/api/video/7/thumbnails/poster-640.jpg",
            duration_seconds: 596.5,
            position_seconds: 377.1,
            percent: 63.2,
            updated_at: "2026-11-24T09:30:05.120Z",
          },
        ],
      ],
    },
  ),
} as const;

export type ContinueWatchingItem = (typeof ProgressModel.continueWatching.static)[number];
