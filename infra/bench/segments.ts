// `bun run bench:segments`: HLS segment delivery, the api against nginx. The same segment file of a
// real transcoded tree is fetched with wrk (1 thread, keep-alive) from nginx (sendfile on, one worker,
// a temporary config on a loopback port), from the product's edge (infra/nginx: the same nginx checking
// the signed token with its native secure_link, then sendfile), and from the api alone with its token
// check (and with the session cookie), in interleaved rounds; medians of requests/s and MB/s, and the
// ratios to plain nginx.
// Goal: with the check on, ≥ 0.90 × nginx.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "bun";
import { MediaTokens } from "../../api/playback/tokens.ts";
import { outputPrefixFor } from "../../contract/media.ts";
import { categories, videos } from "../../db/schema/index.ts";
import { Client, createActiveUser } from "../../dev/browser-client.ts";
import { generateVideo } from "../../dev/media.ts";
import { freePort } from "../../dev/services.ts";
import type { LocalMediaStorage } from "../../storage/index.ts";
import { transcode } from "../../transcoder/pipeline.ts";
import { type RunningEdge, startEdge } from "../nginx/edge.ts";
import { startBenchApi } from "./bench-api.ts";
import { publishReady } from "./publish.ts";
import { median, requireWrk, runWrk } from "./wrk.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const GOAL = 0.9;
/** Which rung's first segment is fetched: 720p or 360p (smaller: more per-request work per byte). */
const RUNG = process.env.BENCH_RUNG ?? "720p";
const SEGMENT_SECONDS = Number(process.env.BENCH_SEGMENT_SECONDS ?? 6);

function requireNginx(): string {
  const nginx = Bun.which("nginx") ?? ["/usr/sbin/nginx"].find((path) => Bun.file(path).size > 0);
  if (!nginx) throw new Error("nginx is not installed: run `apt-get install -y nginx` and retry");
  return nginx;
}

requireWrk();
const nginxBinary = requireNginx();
const work = mkdtempSync(join(tmpdir(), "vf-bench-segments-"));
const bench = await startBenchApi({}, { smtp: true });
const { runtime, config } = bench;
const smtp = bench.smtp!;
const mediaRoot = config.mediaRoot;
let nginx: ReturnType<typeof spawn> | null = null;
let edge: RunningEdge | null = null;

try {
  // A real tree in the product's segment length (HLS_SEGMENT_SECONDS, 6 s by default): segment size
  // decides who copies the bytes — Bun sends files of about 1 MB and more with sendfile(2), smaller
  // ones through a user-space copy.
  console.log(`transcoding a ${2 * SEGMENT_SECONDS} s 720p test clip in ${SEGMENT_SECONDS} s segments…`);
  const source = await generateVideo(join(work, "source.mp4"), {
    seconds: 2 * SEGMENT_SECONDS,
    width: 1280,
    height: 720,
    fps: 30,
    audio: "stereo",
  });
  const staging = await runtime.storage.createStagingDir("bench-segments");
  const result = await transcode({
    sourcePath: source,
    outputDir: staging,
    segmentSeconds: SEGMENT_SECONDS,
    preset: "ultrafast",
    ladderHeights: [360, 720],
    thumbnails: false,
  });
  const db = runtime.database.db;
  const [category] = await db.insert(categories).values({ name: "Bench" }).returning();
  const [video] = await db
    .insert(videos)
    .values({ title: "Bench", categoryId: category!.id, sourceKey: "sources/bench.mp4", sourceBytes: 1 })
    .returning();
  const prefix = outputPrefixFor(video!.id, 1);
  await runtime.storage.publishDirectory(staging, prefix);
  await publishReady(runtime, video!.id, result);
  const segmentKey = `${prefix}/${RUNG}/seg_00000.ts`;
  const segmentBytes = (await (runtime.storage as LocalMediaStorage).file(segmentKey))!.size;

  // nginx: one worker serving MEDIA_ROOT with sendfile, as a CDN origin or a static file server would.
  const nginxPort = await freePort();
  const nginxDir = join(work, "nginx");
  const nginxConf = join(work, "nginx.conf");
  writeFileSync(
    nginxConf,
    `user root;
worker_processes 1;
daemon off;
pid ${nginxDir}.pid;
error_log ${work}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${work}/nginx-body;
  proxy_temp_path ${work}/nginx-proxy;
  fastcgi_temp_path ${work}/nginx-fastcgi;
  uwsgi_temp_path ${work}/nginx-uwsgi;
  scgi_temp_path ${work}/nginx-scgi;
  types { video/mp2t ts; application/vnd.apple.mpegurl m3u8; }
  server {
    listen 127.0.0.1:${nginxPort};
    root ${mediaRoot};
    location / { add_header Cache-Control "public, max-age=31536000, immutable"; }
  }
}
`,
  );
  nginx = spawn([nginxBinary, "-p", work, "-c", nginxConf], { stdout: "inherit", stderr: "inherit" });

  // The floor of the api's own cost: the same file from a route of the app with no check at all.
  const segmentPath = (runtime.storage as LocalMediaStorage).localPath(segmentKey);
  const app = runtime.app
    .get("/bench/unchecked-segment", () => new Response(Bun.file(segmentPath)))
    .listen({ hostname: "127.0.0.1", port: 0 });
  const apiBase = `http://127.0.0.1:${app.server!.port}`;
  const token = new MediaTokens(config.mediaTokenSecret, config.mediaTokenTtlSeconds).mint(video!.id);
  // The product's edge (infra/nginx): the same single nginx worker, checking the token (secure_link) and
  // sending the file itself; the api behind it only sees what the edge cannot answer.
  edge = await startEdge({
    port: await freePort(),
    apiUpstream: `127.0.0.1:${app.server!.port}`,
    mediaRoot,
    mediaTokenSecret: config.mediaTokenSecret,
    sharedMaxAgeSeconds: config.mediaTokenTtlSeconds,
    corsOrigins: [],
  });
  const account = await createActiveUser({ url: apiBase, smtp });
  const viewer = new Client(apiBase);
  await viewer.post("/api/login/", account);
  const cookie = `Cookie: access_token=${viewer.cookies.get("access_token")}`;

  const variants = {
    nginx: { url: `http://127.0.0.1:${nginxPort}/${segmentKey}`, headers: [] as string[] },
    "edge (token)": {
      url: `${edge.url}/api/video/${video!.id}/${RUNG}/seg_00000.ts?v=1&token=${token}`,
      headers: [] as string[],
    },
    "api (token)": {
      url: `${apiBase}/api/video/${video!.id}/${RUNG}/seg_00000.ts?v=1&token=${token}`,
      headers: [] as string[],
    },
    "api, no checks": { url: `${apiBase}/bench/unchecked-segment`, headers: [] as string[] },
    "api (cookie)": { url: `${apiBase}/api/video/${video!.id}/${RUNG}/seg_00000.ts?v=1`, headers: [cookie] },
  };
  for (const [name, variant] of Object.entries(variants)) {
    const response = await fetch(variant.url, {
      headers: Object.fromEntries(variant.headers.map((h) => h.split(": ") as [string, string])),
    });
    const body = await response.arrayBuffer();
    if (response.status !== 200 || body.byteLength !== segmentBytes)
      throw new Error(`${name}: ${response.status}, ${body.byteLength} bytes (expected ${segmentBytes})`);
    if (name === "edge (token)" && response.headers.get("x-served-by") !== "edge")
      throw new Error("edge (token): the segment came from the api, not from nginx");
  }

  console.log(
    `segment: ${(segmentBytes / 1024).toFixed(0)} KiB (${RUNG}, ${SEGMENT_SECONDS} s); wrk: 1 thread, ${CONNECTIONS} connections, ` +
      `${SECONDS} s per run, ${ROUNDS} interleaved rounds`,
  );
  for (const variant of Object.values(variants)) {
    await runWrk(variant.url, { seconds: 1, connections: CONNECTIONS, headers: variant.headers }); // warm-up
  }
  const results: Record<string, number[]> = Object.fromEntries(
    Object.keys(variants).map((name) => [name, []]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, variant] of Object.entries(variants)) {
      const run = await runWrk(variant.url, {
        seconds: SECONDS,
        connections: CONNECTIONS,
        headers: variant.headers,
      });
      if (run.non2xx > 0) throw new Error(`${name}: ${run.non2xx} non-2xx responses`);
      results[name]!.push(run.requestsPerSecond);
    }
  }
  const nginxRps = median(results.nginx!);
  const rows = Object.entries(results).map(([name, runs]) => {
    const rps = median(runs);
    return {
      server: name,
      "requests/s": Math.round(rps),
      "MB/s": Math.round((rps * segmentBytes) / 1e6),
      "× nginx": (rps / nginxRps).toFixed(2),
    };
  });
  console.table(rows);
  for (const name of ["edge (token)", "api (token)"]) {
    const ratio = median(results[name]!) / nginxRps;
    console.log(
      `${name} / nginx = ${ratio.toFixed(2)} — goal ≥ ${GOAL.toFixed(2)}: ${ratio >= GOAL ? "met" : "NOT met"}`,
    );
  }
} finally {
  await edge?.stop();
  nginx?.kill("SIGTERM");
  await nginx?.exited;
  await bench.stop();
  rmSync(work, { recursive: true, force: true });
}
