// `bun run bench:playable`: how soon an upload can be watched. A generated 1080p30 source (motion and
// noise, BENCH_SECONDS long, 3 minutes by default) is uploaded through the api to one transcoder with
// FAST_START=on, then again with FAST_START=off (today's behaviour), in the same run. Printed: time to
// first playable (upload answered → master playlist and first segment fetched, the segment decodes),
// time to ready, their ratio, the fast pass's speed, rebuffers of a 1× player started at first playable
// (playable-player.ts), and the CPU the fast pass adds (the transcoder's CPU time, FFmpeg included).
// Goals on the 2-core machine: first playable ≤ 10 s, 0 rebuffers, fast pass ≥ 3×, ready ≤ 1.25× of off.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "bun";
import { Client } from "../../dev/browser-client.ts";
import { startInProcessApi } from "../../dev/in-process-api.ts";
import { stopTestServices } from "../../dev/services.ts";
import { runProcess } from "../../transcoder/ffmpeg-process.ts";
import { BENCH_JWT_SECRET } from "./bench-api.ts";
import { type PlayerRun, playAtRealTime } from "./playable-player.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 180);
const ADMIN = { email: "bench-admin@videoflix.test", password: "Bench-admin-passphrase-0042" };
const work = mkdtempSync(join(tmpdir(), "vf-bench-playable-"));
const ROOT = join(import.meta.dir, "../..");

const since = (start: number) => (performance.now() - start) / 1000;

/** CPU seconds of a process and its reaped children (FFmpeg), from /proc (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  // utime, stime, cutime, cstime are fields 14–17; fields[0] here is field 3.
  return fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks), 0) / 100;
}

async function generateSource(path: string): Promise<void> {
  const started = performance.now();
  const result = await runProcess([
    ...["ffmpeg", "-nostdin", "-v", "error", "-y"],
    ...["-f", "lavfi", "-i", `testsrc2=s=1920x1080:r=30:d=${SECONDS}`],
    ...["-f", "lavfi", "-i", `sine=f=220:d=${SECONDS}`],
    ...["-vf", "noise=alls=8:allf=t+u", "-c:v", "libx264", "-preset", "veryfast"],
    ...[
      "-b:v",
      "16M",
      "-maxrate",
      "20M",
      "-bufsize",
      "32M",
      "-c:a",
      "aac",
      "-b:a",
      "192k",
      "-shortest",
      path,
    ],
  ]);
  if (result.exitCode !== 0) throw new Error(`source generation failed: ${result.stderr.slice(-500)}`);
  console.log(
    `source: ${SECONDS} s 1080p30, moving test pattern + noise, 16 Mb/s (made in ${since(started).toFixed(0)} s)`,
  );
}

interface ModeRun {
  mode: "on" | "off";
  firstPlayableSeconds: number;
  readySeconds: number;
  cpuSeconds: number;
  fastPassSpeed: number | null;
  fastPassSeconds: number | null;
  player: PlayerRun | null;
}

async function runMode(
  mode: "on" | "off",
  api: { url: string; redisUrl: string; mediaRoot: string },
  source: string,
): Promise<ModeRun> {
  let logs = "";
  const child = spawn([process.execPath, "transcoder/main.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      REDIS_URL: api.redisUrl,
      MEDIA_ROOT: api.mediaRoot,
      TRANSCODER_NAME: `bench-playable-${mode}`,
      TRANSCODER_METRICS_PORT: "0",
      FAST_START: mode,
      // The fast-start pass beside the one-pass ladder on one replica, as BENCHMARKS.md records it (the
      // default, auto, would cut this film into pieces for a farm of one: bench:farm measures that).
      CHUNKING: process.env.CHUNKING ?? "off",
      LOG_LEVEL: "info",
    },
    stdout: "pipe",
    stderr: "inherit",
  });
  void (async () => {
    for await (const chunk of child.stdout) logs += new TextDecoder().decode(chunk);
  })();
  try {
    while (!logs.includes("transcoder waiting for jobs")) await Bun.sleep(100);
    const admin = new Client(api.url);
    const login = await admin.post("/api/login/", ADMIN);
    if (login.status !== 200) throw new Error(`admin login failed: ${login.status}`);
    const get = (url: string) => admin.get(url.startsWith("http") ? url.slice(api.url.length) : url);
    const cpuBefore = cpuSeconds(child.pid);

    const form = new FormData();
    form.append("title", `Playable bench (${mode})`);
    form.append("category", "Bench");
    form.append("file", Bun.file(source), "source.mp4");
    const response = await fetch(`${api.url}/api/admin/videos`, {
      method: "POST",
      body: form,
      headers: {
        cookie: [...admin.cookies].map(([name, value]) => `${name}=${value}`).join("; "),
        "x-csrftoken": admin.cookies.get("csrftoken") ?? "",
      },
    });
    if (response.status !== 202) throw new Error(`upload: ${response.status} ${await response.text()}`);
    const { id } = (await response.json()) as { id: number };
    const uploaded = performance.now();

    // First playable: the master and its first rung's playlist answer, and the first segment decodes.
    let media = "";
    for (;;) {
      const master = await get(`/api/video/${id}/master.m3u8`);
      if (master.status === 200) {
        const variant = (await master.text()).split("\n").find((line) => line && !line.startsWith("#"))!;
        media = `/api/video/${id}/${variant}`;
        const playlist = await (await get(media)).text();
        const first = playlist.split("\n").find((line) => line.startsWith("seg_"));
        if (first) {
          const segmentBase = `${api.url}${media.slice(0, media.lastIndexOf("/") + 1)}`;
          const bytes = await (await get(new URL(first, segmentBase).href)).arrayBuffer();
          const path = join(work, `first-${mode}.ts`);
          writeFileSync(path, new Uint8Array(bytes));
          const decoded = await runProcess(["ffmpeg", "-v", "error", "-i", path, "-f", "null", "-"]);
          if (decoded.exitCode === 0 && decoded.stderr.trim() === "") break;
        }
      }
      await Bun.sleep(100);
    }
    const firstPlayableSeconds = since(uploaded);
    console.log(`  [${mode}] first playable after ${firstPlayableSeconds.toFixed(1)} s`);
    const segmentBase = `${api.url}${media.slice(0, media.lastIndexOf("/") + 1)}`;
    const player =
      mode === "on" ? playAtRealTime({ mediaUrl: `${api.url}${media}`, segmentBase, get }) : null;

    for (;;) {
      const video = (await (await admin.get(`/api/admin/videos/${id}`)).json()) as {
        processing_state: string;
        processing_error: string | null;
      };
      if (video.processing_state === "error") throw new Error(`transcode failed: ${video.processing_error}`);
      if (video.processing_state === "ready") break;
      await Bun.sleep(250);
    }
    const readySeconds = since(uploaded);
    // FFmpeg children are reaped by now: their CPU is in the transcoder's cutime/cstime.
    const cpu = cpuSeconds(child.pid) - cpuBefore;
    console.log(`  [${mode}] ready after ${readySeconds.toFixed(1)} s, transcoder CPU ${cpu.toFixed(0)} s`);
    const pass = logs
      .split("\n")
      .filter((line) => line.includes('"fast-start pass published"'))
      .map((line) => JSON.parse(line) as { speed: number; seconds: number })[0];
    const played = player ? await player : null;
    return {
      mode,
      firstPlayableSeconds,
      readySeconds,
      cpuSeconds: cpu,
      fastPassSpeed: pass?.speed ?? null,
      fastPassSeconds: pass?.seconds ?? null,
      player: played,
    };
  } finally {
    child.kill("SIGTERM");
    await child.exited;
  }
}

const api = await startInProcessApi({
  env: {
    JWT_SECRET: BENCH_JWT_SECRET,
    LOG_LEVEL: "silent",
    PORT: "0",
    HOST: "127.0.0.1",
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    MAX_UPLOAD_BYTES: String(4 * 1024 ** 3),
  },
});
try {
  api.runtime.app.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${api.runtime.app.server!.port}`;
  const source = join(work, "source.mp4");
  await generateSource(source);
  const where = { url, redisUrl: api.config.redisUrl, mediaRoot: api.config.mediaRoot };
  const on = await runMode("on", where, source);
  const off = await runMode("off", where, source);

  const ratio = on.readySeconds / off.readySeconds;
  const added = on.cpuSeconds - off.cpuSeconds;
  console.log("\n=== bench:playable");
  console.log(
    `source                         ${SECONDS} s 1080p30 (camera-like, noise), one transcoder, 2 cores`,
  );
  console.log(
    `time to first playable         on ${on.firstPlayableSeconds.toFixed(1)} s   off ${off.firstPlayableSeconds.toFixed(1)} s   (goal ≤ 10 s)`,
  );
  console.log(
    `time to ready                  on ${on.readySeconds.toFixed(1)} s   off ${off.readySeconds.toFixed(1)} s   ratio ${ratio.toFixed(3)} (goal ≤ 1.25)`,
  );
  console.log(`first playable / ready (on)    ${(on.firstPlayableSeconds / on.readySeconds).toFixed(3)}`);
  console.log(
    `fast pass                      ${on.fastPassSeconds?.toFixed(1) ?? "?"} s, ×${on.fastPassSpeed?.toFixed(2) ?? "?"} real time (goal ≥ 3)`,
  );
  console.log(
    `1× player from first playable  ${on.player?.rebuffers ?? "?"} rebuffers, ${on.player?.stalledSeconds.toFixed(1) ?? "?"} s stalled, ${on.player?.playedSeconds.toFixed(0) ?? "?"} s played (goal 0 rebuffers)`,
  );
  console.log(
    `transcoder CPU                 on ${on.cpuSeconds.toFixed(0)} s   off ${off.cpuSeconds.toFixed(0)} s   fast pass adds ${added.toFixed(0)} s = ${((added / off.cpuSeconds) * 100).toFixed(1)} % of the ladder's`,
  );
} finally {
  await api.stop();
  await stopTestServices();
  rmSync(work, { recursive: true, force: true });
}
