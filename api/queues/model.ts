import { t } from "elysia";

const attemptCounts = t.Object({
  completed: t.Integer({ description: "Attempts that ended `ready`" }),
  failed: t.Integer({ description: "Attempts that ended `failed` (retried) or `error`" }),
});

const transcoder = t.Object({
  name: t.String({ description: "TRANSCODER_NAME" }),
  host: t.String(),
  pid: t.Integer(),
  hwaccel: t.String({
    description: "`none` (CPU), `nvenc` (GPU encode), `cuda-decode` (GPU decode, CPU encode)",
  }),
  encoder: t.String({ description: "`libx264` or `h264_nvenc`" }),
  gpu: t.Boolean({ description: "Whether it uses a GPU" }),
  concurrency: t.Integer({ description: "Jobs it runs at once" }),
  started_at: t.String({ format: "date-time" }),
  uptime_seconds: t.Integer(),
  last_seen_at: t.String({ format: "date-time", description: "Its latest heartbeat (every 5 s)" }),
  jobs: t.Array(
    t.Object({
      job_id: t.String(),
      video_id: t.Integer(),
      revision: t.Integer(),
      attempt: t.Integer(),
      started_at: t.String({ format: "date-time" }),
    }),
    { description: "What it transcodes now" },
  ),
});

export const FarmModel = {
  overview: t.Object(
    {
      transcoders: t.Array(transcoder, {
        description: "Transcoders whose heartbeat is at most 15 s old, by name",
      }),
      queue: t.Object(
        { waiting: t.Integer(), active: t.Integer(), delayed: t.Integer(), failed: t.Integer() },
        { description: "Transcode jobs per state (`delayed`: waiting for their retry's backoff)" },
      ),
      throughput: t.Object({ last_15_minutes: attemptCounts, last_hour: attemptCounts }),
      dashboard_url: t.String({
        format: "uri",
        description: "The queue dashboard (bull-board), admins only",
      }),
    },
    {
      examples: [
        {
          transcoders: [
            {
              name: "transcoder-1",
              host: "b2c4e1f0a9d3",
              pid: 1,
              hwaccel: "none",
              encoder: "libx264",
              gpu: false,
              concurrency: 1,
              started_at: "2026-12-01T08:00:00.000Z",
              uptime_seconds: 3600,
              last_seen_at: "2026-12-01T09:00:00.000Z",
              jobs: [
                {
                  job_id: "video-12-r1",
                  video_id: 12,
                  revision: 1,
                  attempt: 1,
                  started_at: "2026-12-01T08:59:30.000Z",
                },
              ],
            },
          ],
          queue: { waiting: 3, active: 1, delayed: 0, failed: 2 },
          throughput: {
            last_15_minutes: { completed: 4, failed: 0 },
            last_hour: { completed: 17, failed: 1 },
          },
          dashboard_url: "http://localhost:3000/admin/queues",
        },
      ],
    },
  ),
  failedJob: t.Object({
    job_id: t.String(),
    video_id: t.Nullable(t.Integer()),
    revision: t.Nullable(t.Integer()),
    attempts_made: t.Integer(),
    error: t.String({ description: "The last attempt's failure, as the worker gave it" }),
    failed_at: t.Nullable(t.String({ format: "date-time" })),
    video_state: t.Nullable(
      t.Union([t.Literal("pending"), t.Literal("processing"), t.Literal("ready"), t.Literal("error")], {
        description: "The video's state now; null: the video was deleted",
      }),
    ),
    current: t.Boolean({
      description: "False when the video's file was replaced since (a retry would be refused with 409)",
    }),
  }),
  jobParams: t.Object({ jobId: t.String({ maxLength: 40, description: "A job id such as `video-12-r1`" }) }),
  retried: t.Object({
    job_id: t.String(),
    video_id: t.Integer(),
    revision: t.Integer(),
    processing_state: t.Literal("pending"),
  }),
} as const;
