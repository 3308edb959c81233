import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ElysiaAdapter } from "@bull-board/elysia";
import type { Queue } from "bullmq";
import { Elysia } from "elysia";
import type { authPlugin } from "../auth/plugin.ts";

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
    .guard({ admin: true }, (app) => app.use(board));
}
