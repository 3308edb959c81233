// The transcoder's metrics and its small HTTP server, in process (the farm tests scrape a real worker).
import { afterEach, describe, expect, test } from "bun:test";
import type { Job } from "bullmq";
import pino from "pino";
import { Registry } from "prom-client";
import type { TranscodeJob } from "../../contract/transcode-jobs.ts";
import { freePort } from "../../dev/services.ts";
import { TranscoderMetrics, workerRegistry } from "../../transcoder/metrics.ts";
import { startMetricsServer } from "../../transcoder/metrics-server.ts";

const log = pino({ level: "silent" });
const servers: { stop(force?: boolean): unknown }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.stop(true);
});

/** What the hooks read of a BullMQ job. */
const job = (attemptsStarted: number, waitedMs: number) =>
  ({ attemptsStarted, timestamp: 1_000_000, processedOn: 1_000_000 + waitedMs }) as Job<TranscodeJob>;

describe("TranscoderMetrics", () => {
  test("outcomes, wall time, real-time factor, first-start queue wait and the active gauge", async () => {
    const metrics = new TranscoderMetrics(new Registry());
    const before = await metrics.registry.metrics();
    for (const outcome of ["ready", "error", "failed", "handed_back"])
      expect(before).toContain(`transcode_jobs_total{outcome="${outcome}"} 0`);

    metrics.jobStarted(job(1, 2500));
    expect(await metrics.registry.metrics()).toContain("transcode_jobs_active 1");
    metrics.jobFinished("ready", job(1, 2500), 5, 20);
    metrics.jobStarted(job(2, 90_000)); // a retry: its wait is not the queue's
    metrics.jobFinished("failed", job(2, 90_000), 1);

    expect(await metrics.registry.metrics()).toContain("transcode_mp4_remux_failures_total 0");
    metrics.mp4RemuxFailed();

    const after = await metrics.registry.metrics();
    expect(after).toContain("transcode_mp4_remux_failures_total 1");
    expect(after).toContain("transcode_jobs_active 0");
    expect(after).toContain('transcode_jobs_total{outcome="ready"} 1');
    expect(after).toContain('transcode_jobs_total{outcome="failed"} 1');
    expect(after).toContain('transcode_duration_seconds_count{outcome="ready"} 1');
    expect(after).toContain('transcode_duration_seconds_sum{outcome="failed"} 1');
    expect(after).toContain("transcode_realtime_factor_sum 4");
    expect(after).toContain("transcode_realtime_factor_count 1");
    expect(after).toContain("transcode_queue_wait_seconds_sum 2.5");
    expect(after).toContain("transcode_queue_wait_seconds_count 1");
  });

  test("the worker's registry labels every series with the worker's name, process metrics included", async () => {
    const registry = workerRegistry("w-7");
    new TranscoderMetrics(registry);
    const body = await registry.metrics();
    expect(body).toContain('transcode_jobs_total{outcome="ready",worker="w-7"} 0');
    expect(body).toMatch(/process_resident_memory_bytes\{worker="w-7"\} \d+/);
  });
});

describe("the metrics server", () => {
  test("serves /metrics and /health (503 once unhealthy), 404 elsewhere, 405 for other methods", async () => {
    const metrics = new TranscoderMetrics(new Registry());
    let healthy = true;
    const server = startMetricsServer({
      port: await freePort(),
      hostname: "127.0.0.1",
      registry: metrics.registry,
      log,
      health: () => ({ healthy, body: { status: healthy ? "ok" : "stopping" } }),
    });
    expect(server).not.toBeNull();
    servers.push(server!);
    const base = `http://127.0.0.1:${server!.port}`;

    const scraped = await fetch(`${base}/metrics`);
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
    expect(await scraped.text()).toContain("# TYPE transcode_jobs_total counter");

    const up = await fetch(`${base}/health`);
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({ status: "ok" });
    healthy = false;
    const down = await fetch(`${base}/health`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: "stopping" });

    expect((await fetch(`${base}/other`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: "POST" })).status).toBe(405);
  });

  test("port 0 starts nothing; a port in use is logged and skipped, the worker goes on", async () => {
    const registry = new Registry();
    const health = () => ({ healthy: true, body: {} });
    expect(startMetricsServer({ port: 0, registry, log, health })).toBeNull();

    const port = await freePort();
    const first = startMetricsServer({ port, hostname: "127.0.0.1", registry, log, health });
    servers.push(first!);
    const lines: string[] = [];
    const spy = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
    expect(startMetricsServer({ port, hostname: "127.0.0.1", registry, log: spy, health })).toBeNull();
    expect(lines.join("")).toContain("metrics server not started");
  });
});
