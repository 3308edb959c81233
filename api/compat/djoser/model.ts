import { t } from "elysia";
import { RowId } from "../../http/params.ts";

// What the djoser frontend (Seldir193/Videoflix_frontend) sends and reads (docs: djoser.md of the
// dialects). Bodies are loose like the course client's: the services check the field rules.
const text = (description: string, example: string) =>
  t.String({ maxLength: 1024, description, examples: [example] });
const loose = { additionalProperties: true } as const;

const videoExample = {
  id: 7,
  title: "Big Buck Bunny",
  description: "A giant rabbit takes revenge.",
  category: "Animation",
  genre: "Animation",
  is_trailer: false,
  thumb: "https://api.videoflix.example/api/video/7/thumbnails/poster-640.jpg",
  hero_frame: "https://api.videoflix.example/api/video/7/thumbnails/poster-640.jpg",
  video_file: null,
  source_url: null,
  source_variants: [],
  release: "2026-11-24",
  director: "",
  license_type: "",
  license_url: "",
  duration: 596.5,
  created_at: "2026-11-24T08:00:00.000Z",
};

const mediaUrl = (description: string) => t.Nullable(t.String({ format: "uri", description }));

export const DjoserModel = {
  registerBody: t.Object(
    {
      email: text("Email address; also the username", "ann@example.com"),
      password: text("8 to 128 characters, not a common password", "correct horse battery"),
      re_password: text("Must equal `password`", "correct horse battery"),
    },
    loose,
  ),
  registered: t.Object({ email: t.String() }),
  activationBody: t.Object(
    { uid: text("`uid` of the emailed link", "MQ"), token: text("`token` of the emailed link", "…") },
    loose,
  ),
  loginBody: t.Object(
    { email: text("Email address", "ann@example.com"), password: text("Password", "correct horse battery") },
    loose,
  ),
  tokens: t.Object(
    {
      access: t.String({ description: "Access JWT: send it as `Authorization: Bearer <access>`" }),
      refresh: t.String({ description: "Refresh token of the session: it is never rotated" }),
    },
    { examples: [{ access: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…", refresh: "3q2-7w…" }] },
  ),
  refreshBody: t.Object({ refresh: text("The refresh token of `jwt/create`", "3q2-7w…") }, loose),
  access: t.Object({ access: t.String() }),
  /** djoser's own error bodies the frontend reads: `detail` plus a `code`. */
  codedError: t.Object(
    { detail: t.String(), code: t.String() },
    {
      examples: [
        { detail: "No active account found with the given credentials", code: "no_active_account" },
        { detail: "Token is invalid or expired", code: "token_not_valid" },
      ],
    },
  ),
  resetBody: t.Object({ email: text("Email address of the account", "ann@example.com") }, loose),
  resetConfirmBody: t.Object(
    {
      uid: text("`uid` of the emailed link", "MQ"),
      token: text("`token` of the emailed link", "…"),
      new_password: text("The new password", "a much better passphrase"),
      re_new_password: text("Must equal `new_password`", "a much better passphrase"),
    },
    loose,
  ),
  video: t.Object(
    {
      id: t.Integer(),
      title: t.String(),
      description: t.String(),
      category: t.String({
        description:
          "The category's name in the default language, whatever the Accept-Language: the frontend's rows key on it (Action, Documentary, Drama, Romance; any other name lands in Action) and label themselves",
      }),
      genre: t.String({ description: "The category's name in the reader's language (the movie-info page)" }),
      is_trailer: t.Boolean(),
      thumb: mediaUrl("Poster about 640 px wide"),
      hero_frame: mediaUrl("Poster for the player and the hero"),
      video_file: mediaUrl("Signed progressive MP4 (the tallest rung); null while the video has none"),
      source_url: mediaUrl("Signed progressive MP4 of the preferred rung (720p, else the tallest)"),
      source_variants: t.Array(t.Object({ path: t.String({ format: "uri" }), height: t.Integer() }), {
        description: "Every rung's signed MP4, tallest first (Plyr's quality menu)",
      }),
      release: t.String({ description: "The date the video was added (yyyy-MM-dd)" }),
      director: t.String(),
      license_type: t.String(),
      license_url: t.String(),
      duration: t.Nullable(t.Number({ description: "Seconds" })),
      created_at: t.String({ format: "date-time" }),
    },
    { examples: [videoExample] },
  ),
  videoParams: t.Object({ id: RowId }),
  progressBody: t.Object(
    {
      video: RowId,
      position: t.Number({ minimum: 0, description: "Seconds into the video" }),
      duration: t.Optional(t.Number({ minimum: 0, description: "What the player knows of the length" })),
    },
    loose,
  ),
  progressQuery: t.Object({ video: RowId }),
  progress: t.Object(
    {
      video: t.Integer(),
      position: t.Number({ description: "Seconds; 0 when never watched" }),
      duration: t.Number({ description: "Seconds; 0 when unknown" }),
    },
    { examples: [{ video: 7, position: 377.1, duration: 596.5 }] },
  ),
} as const;

export type DjoserVideo = typeof DjoserModel.video.static;
