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
  last_seen_seconds_ago: t.Integer({
    description: "The age of that heartbeat by Redis's clock (a client's own clock may be off)",
  }),
  jobs: t.Array(
    t.Object({
      job_id: t.String(),
      video_id: t.Integer(),
      revision: t.Integer(),
      attempt: t.Integer(),
      started_at: t.String({ format: "date-time" }),
      title: t.Nullable(t.String({ description: "The video's title; null: deleted while its job ran" })),
      progress: t.Nullable(
        t.Object(
          {
            percent: t.Number({ description: "0–100 over the whole job" }),
            stage: t.String(),
            eta_seconds: t.Nullable(t.Number({ description: "Of the current stage" })),
          },
          {
            description:
              "The job's latest progress tick (later ones come as `video.progress` on the WebSocket); null before the first",
          },
        ),
      ),
    }),
    { description: "What it transcodes now (a quiet one: what it ran when it went silent)" },
  ),
});

export const FarmModel = {
  overview: t.Object(
    {
      transcoders: t.Array(transcoder, {
        description: "Transcoders whose heartbeat is at most 15 s old, by name",
      }),
      quiet_transcoders: t.Array(transcoder, {
        description:
          "Transcoders silent for more than 15 s (crashed, cut off, or their host is; a graceful stop leaves at once), by name, until forgotten an hour after their last heartbeat",
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
              last_seen_seconds_ago: 2,
              jobs: [
                {
                  job_id: "video-12-r1",
                  video_id: 12,
                  revision: 1,
                  attempt: 1,
                  started_at: "2026-12-01T08:59:30.000Z",
                  title: "Big Buck Bunny",
                  progress: { percent: 42.3, stage: "encoding", eta_seconds: 31 },
                },
              ],
            },
          ],
          quiet_transcoders: [],
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
    error: t.String({ description: "The last attempt's failure, as a sentence for people" }),
    failed_at: t.Nullable(t.String({ format: "date-time" })),
    title: t.Nullable(t.String({ description: "The video's title; null: the job is not a video's" })),
    video_state: t.Nullable(
      t.Union([t.Literal("pending"), t.Literal("processing"), t.Literal("ready"), t.Literal("error")], {
        description: "The video's state now; null: the job is not a video's",
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
