// The same-run baseline of `bench:viewers`: a plain nginx serving the same files the stack serves, with
// no access check and nothing behind it, so that the same k6 scenario (load-tests/streaming.js) can be
// ramped against it on the same machine in the same run.
//
//   bun infra/bench/viewers-baseline.ts <stack.json> <seed.json> <dir>
//
// Signs in to the running load-test stack as a seeded viewer and keeps what the api answered (the
// catalogue, each video's master and media playlists, their signed relative URIs included) as static
// files under <dir>/static; segments come from the stack's own media root by the edge's path mapping
// (videos/<id>/r<v>/<rung>/<segment>), minus the token check. Sign-in answers 200 with a csrftoken
// cookie and heartbeats 204, from nginx itself. Writes <dir>/baseline.env (BASELINE_URL=…) once nginx
// listens, and runs until SIGTERM/SIGINT. nginx as the load-test edge runs it: worker_processes auto,
// sendfile, keep-alive.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { dirname, join, resolve } from "node:path";
import { spawn } from "bun";
import { Client } from "../../dev/browser-client.ts";
import { freePort } from "../../dev/services.ts";
import { nginxBinary } from "../nginx/edge.ts";

const [stackFile, seedFile, dirArgument] = process.argv.slice(2);
if (!stackFile || !seedFile || !dirArgument) {
  console.error("usage: bun infra/bench/viewers-baseline.ts <stack.json> <seed.json> <dir>");
  process.exit(2);
}
const dir = resolve(dirArgument);
const stack = (await Bun.file(stackFile).json()) as { base_url: string; media_root: string };
const seed = (await Bun.file(seedFile).json()) as {
  viewers: Array<{ email: string; password: string }>;
  videos: Array<{ id: number }>;
};
const staticRoot = join(dir, "static");

/** GETs a path of the stack as the signed-in viewer and keeps the answer at the same path under static/. */
async function keep(
  client: Client,
  path: string,
  file = new URL(path, stack.base_url).pathname,
): Promise<string> {
  const response = await client.get(path);
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${body.slice(0, 200)}`);
  const target = join(staticRoot, file);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, body);
  return body;
}

/** The URIs a playlist refers to (variant playlists of a master, segments of a media playlist). */
const urisOf = (playlist: string) =>
  playlist
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));

const viewer = new Client(stack.base_url);
const login = await viewer.post("/api/login/", seed.viewers[0]);
if (login.status !== 200) throw new Error(`sign-in as a seeded viewer failed: ${login.status}`);
await keep(viewer, "/api/videos/?limit=50", "/api/videos/index.json");
let playlists = 0;
for (const video of seed.videos) {
  const masterPath = `/api/video/${video.id}/master.m3u8`;
  const master = await keep(viewer, masterPath);
  for (const uri of urisOf(master)) {
    const media = new URL(uri, new URL(masterPath, stack.base_url));
    await keep(viewer, media.pathname + media.search, media.pathname);
    playlists++;
  }
}

const port = await freePort();
const asRoot = process.getuid?.() === 0;
for (const temp of ["body", "proxy", "fastcgi", "uwsgi", "scgi"])
  mkdirSync(join(dir, temp), { recursive: true });
const conf = join(dir, "nginx.conf");
writeFileSync(
  conf,
  `${asRoot ? "user root;" : ""}
worker_processes auto;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 16384; }
http {
  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; application/json json; }
  default_type application/octet-stream;
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    server_tokens off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 10000;
    root ${staticRoot};
    location = /api/login/ {
      add_header Set-Cookie "csrftoken=baseline; Path=/" always;
      default_type application/json;
      return 200 '{"baseline":true}';
    }
    location ^~ /api/progress/ {
      return 204;
    }
    location = /api/videos/ {
      try_files /api/videos/index.json =404;
    }
    # The edge's segment location without its secure_link check.
    location ~ "^/api/video/(?<video_id>[0-9]+)/(?<rung>[0-9]{3,4}p)/(?<segment>[A-Za-z0-9][A-Za-z0-9_-]*\\.(?:ts|m4s|mp4))$" {
      root ${resolve(stack.media_root)};
      try_files /videos/$video_id/r$arg_v/$rung/$segment =404;
    }
    location / {
      try_files $uri =404;
    }
  }
}
`,
);
const nginx = nginxBinary();
if (!nginx) throw new Error("nginx is not installed (infra/setup.sh installs it)");
const child = spawn([nginx, "-p", dir, "-c", conf], { stdout: "inherit", stderr: "inherit" });
// From the start: a SIGTERM while nginx gets ready must stop it too, not leave it behind.
let stopping = false;
const stop = () => {
  stopping = true;
  if (child.exitCode === null) child.kill("SIGQUIT");
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

const listening = async () =>
  new Promise<boolean>((answer) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      answer(true);
    });
    socket.once("error", () => {
      socket.destroy();
      answer(false);
    });
  });
const deadline = Date.now() + 10_000;
while (!(await listening())) {
  if (stopping) process.exit(await child.exited);
  if (child.exitCode !== null || Date.now() > deadline) {
    child.kill("SIGKILL");
    throw new Error("the baseline nginx did not start");
  }
  await Bun.sleep(50);
}
// Renamed into place: its presence means "listening", never a half-written file.
writeFileSync(join(dir, "baseline.env.tmp"), `BASELINE_URL=http://127.0.0.1:${port}\n`);
renameSync(join(dir, "baseline.env.tmp"), join(dir, "baseline.env"));
console.error(
  `baseline nginx on 127.0.0.1:${port}: ${seed.videos.length} videos, ${playlists} media playlists kept`,
);

process.exit(await child.exited);
