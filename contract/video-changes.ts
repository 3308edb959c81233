// What the api tells its own replicas about a video once the change is in PostgreSQL: every
// lifecycle change, creation included, is published once on this channel (wire name kept from the
// first release, `vf:video-state`). Caches drop entries and the realtime hub notifies clients from it.
// A category's edit (its name or translations, shown with every video of it) goes here too.
import { type Static, Type } from "@sinclair/typebox";
import { channel } from "./codec.ts";

const id = Type.Integer({ minimum: 1 });

export const VideoChange = Type.Union([
  /** A new video was uploaded (state `pending`). */
  Type.Object({ type: Type.Literal("video.created"), id, revision: Type.Integer({ minimum: 1 }) }),
  /** The transcoding state moved (see api/videos/lifecycle.ts). */
  Type.Object({
    type: Type.Literal("video.state"),
    id,
    revision: Type.Integer({ minimum: 1 }),
    state: Type.Union([Type.Literal("processing"), Type.Literal("ready"), Type.Literal("error")]),
    processing_error: Type.Union([Type.String(), Type.Null()]),
  }),
  /**
   * A revision's fast-start rendition went live: the video (still `processing`) can be watched and is
   * listed. `video.state` with `ready` follows when its ladder replaces it.
   */
  Type.Object({ type: Type.Literal("video.playable"), id, revision: Type.Integer({ minimum: 1 }) }),
  /** Metadata edited, file replaced or a retry started. */
  Type.Object({ type: Type.Literal("video.updated"), id }),
  Type.Object({ type: Type.Literal("video.deleted"), id }),
  /** A category's name or translations edited (`id` is the category's). */
  Type.Object({ type: Type.Literal("category.updated"), id }),
]);
export type VideoChange = Static<typeof VideoChange>;

export const videoChanges = channel("vf:video-state", VideoChange);
