import { t } from "elysia";
import { RowId } from "../../http/params.ts";

// What the content frontend (velizarganchev/videoflix-frontend) sends and reads (docs: content.md of
// the dialects). Bodies are loose like the course client's: the services check the field rules.
const text = (description: string, example: string) =>
  t.String({ maxLength: 1024, description, examples: [example] });
const loose = { additionalProperties: true } as const;

/** The rungs the frontend asks `video-url/` for (its VideoQualityService, from the downlink speed). */
export const QUALITIES = ["120p", "360p", "720p", "1080p"] as const;

const videoExample = {
  id: 7,
  title: "Big Buck Bunny",
  description: "A giant rabbit takes revenge.",
  category: "Animation",
  image_file: "https://api.videoflix.example/api/video/7/thumbnails/poster-640.jpg",
  image_url: "https://api.videoflix.example/api/video/7/thumbnails/poster-640.jpg",
  video_file: null,
  converted_files: {},
  processing_state: "ready",
  processing_error: null,
  created_at: "2026-11-24T08:00:00.000Z",
};

const imageUrl = t.Nullable(t.String({ format: "uri", description: "Poster about 640 px wide" }));

/** The original's plain messages: `{error}` on the account routes, `{message}` on the others. */
const errorText = t.Object({ error: t.String() });

export const ContentModel = {
  emailQuery: t.Object({ email: text("The address typed into the form", "ann@example.com") }),
  emailExists: t.Object(
    { exists: t.Boolean({ description: "Whether an account (activated or not) has this address" }) },
    { examples: [{ exists: false }] },
  ),
  registerBody: t.Object(
    {
      email: text("Email address; also the username", "ann@example.com"),
      password: text("8 to 128 characters, not a common password", "correct horse battery"),
      confirm_password: text("Must equal `password`", "correct horse battery"),
    },
    loose,
  ),
  registered: t.Object({ email: t.String() }),
  loginBody: t.Object(
    {
      email: text("Email address", "ann@example.com"),
      password: text("Password", "correct horse battery"),
      remember: t.Optional(
        t.Boolean({
          description: "true: the cookies outlive the browser session; false or absent: session cookies",
        }),
      ),
    },
    loose,
  ),
  user: t.Object(
    {
      id: t.Integer(),
      username: t.String({ description: "The email address (the original's username)" }),
      email: t.String(),
      phone: t.Null(),
      address: t.Null(),
      favorite_videos: t.Array(t.Integer(), { description: "Ids of the user's favorite videos" }),
    },
    {
      examples: [
        {
          id: 12,
          username: "ann@example.com",
          email: "ann@example.com",
          phone: null,
          address: null,
          favorite_videos: [7],
        },
      ],
    },
  ),
  detail: t.Object({ detail: t.String() }),
  message: t.Object({ message: t.String() }),
  errorText,
  forgotBody: t.Object({ email: t.Optional(t.String({ maxLength: 1024 })) }, loose),
  resetBody: t.Object(
    {
      uid: text("`uid` of the emailed link's query", "MQ"),
      token: text("`token` of the emailed link's query", "…"),
      new_password: text("The new password (8 to 128 characters, not a common one)", "a better passphrase"),
    },
    loose,
  ),
  video: t.Object(
    {
      id: t.Integer(),
      title: t.String(),
      description: t.String(),
      category: t.String({ description: "The category's name: the frontend's rows group by it" }),
      image_file: imageUrl,
      image_url: imageUrl,
      video_file: t.Nullable(
        t.String({ format: "uri", description: "Signed MP4 of the tallest rung; null while there is none" }),
      ),
      converted_files: t.Record(t.String(), t.String({ format: "uri" }), {
        description:
          'Signed MP4 per rung (`{"720p": url}`); not used by the frontend, which asks `video-url/`',
      }),
      processing_state: t.Literal("ready", { description: "Only ready videos are listed" }),
      processing_error: t.Null(),
      created_at: t.String({ format: "date-time" }),
    },
    { examples: [videoExample] },
  ),
  favoriteBody: t.Object({ video_id: RowId }, loose),
  favoriteIds: t.Array(t.Integer(), {
    description: "The user's favorite video ids after the toggle",
    examples: [[5, 7]],
  }),
  videoParams: t.Object({ id: RowId }),
  qualityQuery: t.Object({
    quality: t.Optional(
      t.UnionEnum([...QUALITIES], {
        description:
          "The rung wanted; a missing one is answered with the nearest lower rung (else the lowest)",
      }),
    ),
  }),
  videoUrl: t.Object(
    { url: t.String({ format: "uri", description: "Signed progressive MP4, plays without cookies" }) },
    { examples: [{ url: "https://api.videoflix.example/api/video/7/720p/video.mp4?token=…" }] },
  ),
} as const;

export type ContentVideo = typeof ContentModel.video.static;
export type Quality = (typeof QUALITIES)[number];
