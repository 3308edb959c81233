import { t } from "elysia";

const directUpload = t.Object(
  {
    id: t.String({ description: "The direct upload's id (a UUID)" }),
    url: t.String({
      format: "uri",
      description: "The tus endpoint to hand to the uploader: POST there once, then PATCH the Location",
    }),
    status: t.Union(
      [
        t.Literal("waiting"),
        t.Literal("uploading"),
        t.Literal("asset_created"),
        t.Literal("expired"),
        t.Literal("cancelled"),
      ],
      { description: "waiting → uploading → asset_created; or expired, or cancelled" },
    ),
    video_id: t.Nullable(t.Integer({ description: "The video the upload became (asset_created)" })),
    title: t.String(),
    description: t.String(),
    category: t.String(),
    max_bytes: t.Integer(),
    expires_at: t.String({ format: "date-time" }),
    created_at: t.String({ format: "date-time" }),
  },
  {
    examples: [
      {
        id: "0b9f4c4e-8d1a-4d1e-9a57-3c2f1b5e7a10",
        url: "https://videoflix.example/api/uploads/direct/0b9f4c4e-8d1a-4d1e-9a57-3c2f1b5e7a10.q3Jx…/",
        status: "waiting",
        video_id: null,
        title: "Conference keynote",
        description: "",
        category: "Talks",
        max_bytes: 10737418240,
        expires_at: "2026-12-01T19:00:00.000Z",
        created_at: "2026-12-01T18:00:00.000Z",
      },
    ],
  },
);

export const UploadModel = {
  directUpload,
  createDirectUpload: t.Object({
    title: t.String({ minLength: 1, maxLength: 200 }),
    description: t.Optional(t.String({ maxLength: 5000 })),
    category: t.String({
      minLength: 1,
      maxLength: 100,
      description: "A category name; a new name creates it",
    }),
    max_bytes: t.Optional(
      t.Integer({ minimum: 1, description: "Size cap of the upload (default and at most MAX_UPLOAD_BYTES)" }),
    ),
    expires_in: t.Optional(
      t.Integer({
        minimum: 60,
        maximum: 7 * 86400,
        description: "Seconds the URL can be used for (default 3600)",
      }),
    ),
  }),
  directUploadParams: t.Object({
    id: t.String({ pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$" }),
  }),
  uploadParams: t.Object({ id: t.String({ pattern: "^[0-9a-f]{32}$", description: "The tus upload id" }) }),
} as const;
