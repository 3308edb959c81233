import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ElysiaAdapter } from "@bull-board/elysia";
import type { Queue } from "bullmq";
import { Elysia, t } from "elysia";
import type { authPlugin } from "../auth/plugin.ts";
import type { Config } from "../config/load.ts";
import { ErrorBody } from "../http/errors.ts";
import type { Clock } from "../shared/clock.ts";
import { offlineDashboardResponse } from "./dashboard-view.ts";
import type { FarmService } from "./farm.ts";
import { FarmModel } from "./model.ts";
import { presentFailedJob, presentTranscoder } from "./presenter.ts";

export const DASHBOARD_PATH = "/admin/queues";

/** bull-board for admins: queue depth, active and failed jobs, retries by hand. */
export async function queueDashboardRoutes(deps: {
  services: { queues: Queue[] };
  auth: ReturnType<typeof authPlugin>;
}) {
  const { auth } = deps;
  const adapter = new ElysiaAdapter(DASHBOARD_PATH);
  createBullBoard({
    queues: deps.services.queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: "Videoflix queues" } },
  });
  const board = await adapter.registerPlugin();
  return new Elysia({ name: "queue-dashboard", detail: { hide: true } })
    .use(auth)
    .guard({ admin: true }, (app) =>
      // The package's page without its Google Fonts link (dashboard-view.ts).
      app.onAfterHandle(({ responseValue }) => offlineDashboardResponse(responseValue)).use(board),
    );
}

const adminErrors = { 401: ErrorBody, 403: ErrorBody } as const;

/** The farm overview the studio shows, its failed jobs and their Retry (`{ admin: true }`). */
export function farmRoutes(deps: {
  services: { farm: FarmService; clock: Clock };
  auth: ReturnType<typeof authPlugin>;
  config: Pick<Config, "publicUrl">;
}) {
  const { farm } = deps.services;
  const dashboardUrl = `${deps.config.publicUrl.replace(/\/+$/, "")}${DASHBOARD_PATH}`;
  return new Elysia({ name: "farm-admin", detail: { tags: ["Admin: farm"] } })
    .use(deps.auth)
    .get(
      "/api/admin/farm",
      async () => {
        const [transcoders, queue, last15, lastHour] = await Promise.all([
          farm.transcoders(),
          farm.depth(),
          farm.throughput(15),
          farm.throughput(60),
        ]);
        return {
          transcoders: transcoders.filter((known) => !known.quiet).map(presentTranscoder),
          quiet_transcoders: transcoders.filter((known) => known.quiet).map(presentTranscoder),
          queue,
          throughput: { last_15_minutes: last15, last_hour: lastHour },
          dashboard_url: dashboardUrl,
        };
      },
      {
        admin: true,
        response: { 200: FarmModel.overview, ...adminErrors },
        detail: {
          summary: "The transcoders online, queue depth, throughput and the queue dashboard's address",
          description:
            "Transcoders come from their heartbeats in Redis (every 5 s, and when a job starts or ends; quiet after 15 s of silence by Redis's clock, gone at once on a graceful stop; forgotten after an hour). Each running job carries its video's title and latest progress tick. Throughput counts attempts that ended in the window (the job history). Answer 503 while Redis or PostgreSQL is away.",
        },
      },
    )
    .get("/api/admin/farm/failed", async () => (await farm.failed()).map(presentFailedJob), {
      admin: true,
      response: { 200: t.Array(FarmModel.failedJob), ...adminErrors },
      detail: {
        summary: "Failed transcode jobs, the latest first",
        description:
          "Those the queue keeps (the latest 100 listed), each with its readable error, its attempts and its video's title and state now. A job whose video was deleted, or whose file was replaced since, is removed from the queue instead of listed (nothing can retry it; the video's job history keeps its runs): a delete or replacement removes its job itself, except one a transcoder was running then, which fails on the missing source afterwards.",
      },
    })
    .post(
      "/api/admin/farm/failed/:jobId/retry",
      async ({ params, set, user }) => {
        const retried = await farm.retry(user, params.jobId);
        set.status = 202;
        return {
          job_id: params.jobId,
          video_id: retried.videoId,
          revision: retried.revision,
          processing_state: "pending" as const,
        };
      },
      {
        admin: true,
        params: FarmModel.jobParams,
        response: { 202: FarmModel.retried, 404: ErrorBody, 409: ErrorBody, ...adminErrors },
        detail: {
          summary: "Retry a failed job",
          description:
            "The video goes back to `pending` and the job runs again with a fresh set of attempts (as `POST /api/admin/videos/:id/retry`). 404: no such job, or its video was deleted meanwhile (the job is removed). 409 with `reason`: `not_failed` (the job or its video is not failed any more), `stale_revision` (the file was replaced since; the job is removed). Writes an audit log line.",
        },
      },
    );
}
