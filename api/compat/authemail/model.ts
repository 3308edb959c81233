import { t } from "elysia";
import { RowId } from "../../http/params.ts";

// What the authemail frontend (enesesine/VideoflixFrontend) sends and reads (docs: authemail.md of
// the dialects). Bodies are loose like the course client's: the services check the field rules.
const text = (description: string, example: string) =>
  t.String({ maxLength: 1024, description, examples: [example] });
const loose = { additionalProperties: true } as const;

const code = text(
  "The `code` of the emailed link, as the frontend read it from its query (`<uidb64>.<token>`)",
  "Mg.3q2-7wAbC…",
);

const category = t.Object(
  {
    id: t.Integer(),
    name: t.String(),
    slug: t.String({ description: "The name in lower case, words joined by `-` (as Django's slugify)" }),
  },
  { examples: [{ id: 3, name: "Science Fiction", slug: "science-fiction" }] },
);

const mp4Example = "https://api.videoflix.example/compat/authemail/media/7/video.mp4?token=1764662400.AbC…";

export const AuthemailModel = {
  signupBody: t.Object(
    {
      email: text("Email address; also the username", "ann@example.com"),
      password: text("8 to 128 characters, not a common password", "correct horse battery"),
    },
    loose,
  ),
  signedUp: t.Object(
    { email: t.String(), first_name: t.String(), last_name: t.String() },
    { examples: [{ email: "ann@example.com", first_name: "", last_name: "" }] },
  ),
  codeQuery: t.Object({ code }),
  success: t.Object({ success: t.String() }, { examples: [{ success: "Email address verified." }] }),
  loginBody: t.Object(
    { email: text("Email address", "ann@example.com"), password: text("Password", "correct horse battery") },
    loose,
  ),
  token: t.Object(
    {
      token: t.String({
        description:
          "The API key: send it as `Authorization: Token <token>`; it lasts COMPAT_AUTHEMAIL_TOKEN_TTL",
      }),
    },
    { examples: [{ token: "3q2-7wAbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-" }] },
  ),
  resetBody: t.Object({ email: text("Email address of the account", "ann@example.com") }, loose),
  resetRequested: t.Object({ email: t.String() }),
  resetVerifiedBody: t.Object(
    { code, password: text("The new password", "a much better passphrase") },
    loose,
  ),
  category,
  video: t.Object(
    {
      id: t.Integer(),
      title: t.String(),
      description: t.String(),
      file: t.Nullable(
        t.String({
          format: "uri",
          description:
            "Signed progressive MP4 of the tallest rung (`…/video.mp4?token=`); `video_<N>p.mp4` in its place is the rung N px tall. Null while the video has no MP4.",
          examples: [mp4Example],
        }),
      ),
      thumbnail: t.Nullable(t.String({ format: "uri", description: "Poster about 640 px wide" })),
      category,
      created_at: t.String({ format: "date-time" }),
      resolutions: t.Array(
        t.Object({ label: t.String(), src: t.String({ format: "uri" }), type: t.Literal("video/mp4") }),
        { description: "Every rung's MP4, tallest first (the frontend derives them from `file` instead)" },
      ),
    },
    {
      examples: [
        {
          id: 7,
          title: "Big Buck Bunny",
          description: "A giant rabbit takes revenge.",
          file: mp4Example,
          thumbnail: "https://api.videoflix.example/api/video/7/thumbnails/poster-640.jpg",
          category: { id: 3, name: "Animation", slug: "animation" },
          created_at: "2026-11-24T08:00:00.000Z",
          resolutions: [
            {
              label: "720p",
              src: "https://api.videoflix.example/compat/authemail/media/7/video_720p.mp4?token=1764662400.AbC…",
              type: "video/mp4",
            },
          ],
        },
      ],
    },
  ),
  mediaParams: t.Object({
    id: RowId,
    file: t.String({ maxLength: 64, description: "`video.mp4` (the tallest rung) or `video_<N>p.mp4`" }),
  }),
  mediaQuery: t.Object({
    token: t.Optional(t.String({ maxLength: 128, description: "The signed media token of `file`" })),
  }),
} as const;

export type AuthemailVideo = typeof AuthemailModel.video.static;
export type AuthemailCategory = typeof AuthemailModel.category.static;
