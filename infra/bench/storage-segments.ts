// Part 2 of `bun run bench:storage`: segments through the S3 playback path against the store itself.
// (a) what a player does: the master playlist from the api, each rung's media playlist from the api,
// and the presigned segment URLs written in it, fetched straight from SeaweedFS; (b) the same objects by
// presigned URLs made here with Bun's S3Client. The same wrk (one thread, keep-alive, a Lua script going
// round the URL list) fetches both, in interleaved rounds. Also: the api's 302 answer for a direct
// segment URL, and the cost of rendering a 2-hour film's media playlist (1,200 presigned URIs).

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { MediaTokens } from "../../api/playback/tokens.ts";
import type { ApiRuntime } from "../../api/runtime.ts";
import { outputPrefixFor } from "../../contract/media.ts";
import { videos } from "../../db/schema/index.ts";
import { bucketClient } from "../../dev/s3-buckets.ts";
import type { S3Bucket } from "../../dev/seaweedfs.ts";
import { publishReady } from "./publish.ts";
import { median, runWrk } from "./wrk.ts";

const FILM_SEGMENTS = 1200;
const RENDERS = 25;

export interface SegmentFigures {
  segments: number;
  meanSegmentBytes: number;
  playerRps: number;
  baselineRps: number;
  redirectRps: number;
  ratio: number;
  filmColdMs: number;
  filmFirstRenderMs: number;
  filmCachedMs: number;
  filmPlaylistBytes: number;
  presignOnlyMs: number;
}

/** A wrk script that sends the paths in turn (wrk keeps the URL's host, so the signatures hold). */
function roundRobinScript(dir: string, name: string, urls: readonly string[]): string {
  const paths = urls.map((url) => {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  });
  const path = join(dir, `${name}.lua`);
  writeFileSync(
    path,
    `local paths = {${paths.map((p) => JSON.stringify(p)).join(",\n")}}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
`,
  );
  return path;
}

const segmentLines = (playlist: string) =>
  playlist
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url, { redirect: "manual" });
  if (response.status !== 200) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
  return response;
}

export async function benchSegments(options: {
  runtime: ApiRuntime;
  apiBase: string;
  mediaTokens: MediaTokens;
  bucket: S3Bucket;
  videoId: number;
  work: string;
  seconds: number;
  rounds: number;
  connections: number;
}): Promise<SegmentFigures> {
  const { apiBase, mediaTokens, videoId, bucket } = options;
  const client = bucketClient(bucket, bucket.bucket);
  const token = mediaTokens.mint(videoId);

  // (a) as a player: master → every rung's media playlist → the segment URLs written there.
  const master = await (await fetchOk(`${apiBase}/api/video/${videoId}/master.m3u8?token=${token}`)).text();
  const playerUrls: string[] = [];
  for (const variant of segmentLines(master)) {
    const media = await (await fetchOk(new URL(variant, `${apiBase}/api/video/${videoId}/`).href)).text();
    playerUrls.push(...segmentLines(media));
  }
  if (playerUrls.length === 0 || !playerUrls.every((url) => url.startsWith(bucket.endpoint))) {
    throw new Error(`the media playlists do not name presigned bucket URLs: ${playerUrls[0]}`);
  }
  // (b) the same objects, presigned here (path-style: /<bucket>/<key>).
  const keys = playerUrls.map((url) =>
    decodeURIComponent(new URL(url).pathname).slice(bucket.bucket.length + 2),
  );
  const baselineUrls = keys.map((key) => client.presign(key, { expiresIn: 3600 }));
  // The api's answer to a direct segment URL: the access check, then a 302 to a presigned URL.
  const redirectUrls = keys.map(
    (key) => `${apiBase}/api/video/${videoId}/${key.split("/").slice(-2).join("/")}?v=1&token=${token}`,
  );
  let totalBytes = 0;
  for (let i = 0; i < keys.length; i++) {
    const [viaPlayer, viaBaseline] = await Promise.all([fetchOk(playerUrls[i]!), fetchOk(baselineUrls[i]!)]);
    const [a, b] = await Promise.all([viaPlayer.arrayBuffer(), viaBaseline.arrayBuffer()]);
    if (a.byteLength !== b.byteLength) throw new Error(`${keys[i]}: ${a.byteLength} ≠ ${b.byteLength} bytes`);
    totalBytes += a.byteLength;
    const redirect = await fetch(redirectUrls[i]!, { redirect: "manual" });
    if (redirect.status !== 302) throw new Error(`${redirectUrls[i]}: ${redirect.status}, expected 302`);
  }
  const meanSegmentBytes = totalBytes / keys.length;

  const variants = {
    "player (api playlist → presigned)": {
      url: playerUrls[0]!,
      script: roundRobinScript(options.work, "player", playerUrls),
    },
    "baseline (S3Client.presign)": {
      url: baselineUrls[0]!,
      script: roundRobinScript(options.work, "baseline", baselineUrls),
    },
    "api 302 (direct segment URL)": {
      url: redirectUrls[0]!,
      script: roundRobinScript(options.work, "redirect", redirectUrls),
    },
  };
  console.log(
    `${keys.length} segments (every rung), mean ${(meanSegmentBytes / 1024).toFixed(0)} KiB; wrk: 1 thread, ` +
      `${options.connections} connections, ${options.seconds} s per run, ${options.rounds} interleaved rounds`,
  );
  const shape = (url: string) => {
    const parsed = new URL(url);
    return `${parsed.host}${parsed.pathname.slice(0, 40)}… ${[...parsed.searchParams.keys()].join("&")} (${url.length} chars)`;
  };
  console.log(`player URL:   ${shape(playerUrls[0]!)}\nbaseline URL: ${shape(baselineUrls[0]!)}`);
  const wrkOptions = (script: string, seconds: number) => ({
    seconds,
    connections: options.connections,
    script,
  });
  for (const variant of Object.values(variants)) await runWrk(variant.url, wrkOptions(variant.script, 1));
  const results: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((n) => [n, []]));
  const entries = Object.entries(variants);
  for (let round = 0; round < options.rounds; round++) {
    // Each round starts with the next variant: none always follows the same neighbour.
    const turn = [...entries.slice(round % entries.length), ...entries.slice(0, round % entries.length)];
    for (const [name, variant] of turn) {
      const run = await runWrk(variant.url, wrkOptions(variant.script, options.seconds));
      if (run.non2xx > 0) throw new Error(`${name}: ${run.non2xx} non-2xx/3xx responses`);
      results[name]!.push(run.requestsPerSecond);
    }
  }
  const [playerName, baselineName, redirectName] = Object.keys(variants) as [string, string, string];
  const baselineRps = median(results[baselineName]!);
  console.table(
    Object.entries(results).map(([name, runs]) => {
      const rps = median(runs);
      const bytes = name === redirectName ? 0 : meanSegmentBytes;
      return {
        path: name,
        "requests/s": Math.round(rps),
        "MB/s": bytes ? Math.round((rps * bytes) / 1e6) : "(302, no body)",
        "× baseline": name === redirectName ? "" : (rps / baselineRps).toFixed(2),
        rounds: runs.map((r) => Math.round(r)).join(" / "),
      };
    }),
  );
  const playerRps = median(results[playerName]!);
  const ratio = playerRps / baselineRps;
  console.log(
    `player path / baseline = ${ratio.toFixed(3)} — goal ≥ 0.90: ${ratio >= 0.9 ? "met" : "NOT met"}`,
  );

  const film = await benchFilmPlaylist(options);
  return {
    segments: keys.length,
    meanSegmentBytes,
    playerRps,
    baselineRps,
    redirectRps: median(results[redirectName]!),
    ratio,
    ...film,
  };
}

/**
 * A 2-hour film's rung: 1,200 six-second segments in its media playlist. Rendered through the app
 * (`app.handle`, no socket): cold (the raw playlist read from the bucket, then presigned), first render
 * for a new token (raw text cached: the presigning is the cost), and the cached render of one token.
 */
async function benchFilmPlaylist(options: {
  runtime: ApiRuntime;
  mediaTokens: MediaTokens;
  videoId: number;
}) {
  const { runtime, videoId } = options;
  const db = runtime.database.db;
  const [template] = await db.select().from(videos).where(eq(videos.id, videoId));
  const [film] = await db
    .insert(videos)
    .values({
      title: "Bench film",
      categoryId: template!.categoryId,
      sourceKey: "sources/bench-film.mp4",
      sourceBytes: 1,
    })
    .returning();
  const prefix = outputPrefixFor(film!.id, 1);
  const lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:6", "#EXT-X-PLAYLIST-TYPE:VOD"];
  for (let i = 0; i < FILM_SEGMENTS; i++)
    lines.push("#EXTINF:6.000000,", `seg_${String(i).padStart(5, "0")}.ts`);
  lines.push("#EXT-X-ENDLIST", "");
  const raw = lines.join("\n");
  const playlistKey = `${prefix}/720p/index.m3u8`;
  await runtime.storage.putStream(playlistKey, new Blob([raw]).stream(), { maxBytes: 1 << 20 });
  await publishReady(runtime, film!.id, {
    durationSeconds: FILM_SEGMENTS * 6,
    renditions: template!.renditions.filter((rendition) => rendition.name === "720p"),
    masterPlaylist: "master.m3u8",
    posters: [],
    storyboard: null,
  });

  const secret = runtime.config.mediaTokenSecret;
  const ttl = runtime.config.mediaTokenTtlSeconds;
  // Distinct valid tokens: minted as if at later times (each later token bucket is a new token).
  const tokenAt = (step: number) =>
    new MediaTokens(secret, ttl, () => Date.now() + step * 3600_000).mint(film!.id);
  const render = async (token: string) => {
    const started = performance.now();
    const response = await runtime.app.handle(
      new Request(`http://localhost/api/video/${film!.id}/720p/index.m3u8?v=1&token=${token}`),
    );
    const text = await response.text();
    const ms = performance.now() - started;
    if (response.status !== 200) throw new Error(`film playlist: ${response.status} ${text}`);
    return { ms, text };
  };
  const cold = await render(tokenAt(0));
  if (
    segmentLines(cold.text).length !== FILM_SEGMENTS ||
    !segmentLines(cold.text)[0]!.includes("X-Amz-Signature")
  ) {
    throw new Error("the film playlist did not come back with 1,200 presigned URIs");
  }
  const firsts: number[] = [];
  for (let i = 1; i <= RENDERS; i++) firsts.push((await render(tokenAt(i))).ms);
  const cached: number[] = [];
  const same = tokenAt(1);
  for (let i = 0; i < RENDERS; i++) cached.push((await render(same)).ms);
  // The presigning alone, as the driver does it (Bun's S3Client.presign, 1,200 times).
  const presignStarted = performance.now();
  for (let i = 0; i < FILM_SEGMENTS; i++) runtime.storage.presign(`${prefix}/720p/seg_${i}.ts`, 3600);
  const presignOnlyMs = performance.now() - presignStarted;
  const figures = {
    filmColdMs: cold.ms,
    filmFirstRenderMs: median(firsts),
    filmCachedMs: median(cached),
    filmPlaylistBytes: cold.text.length,
    presignOnlyMs,
  };
  console.log(
    `2-hour film media playlist (${FILM_SEGMENTS} segments, ${(figures.filmPlaylistBytes / 1024).toFixed(0)} KiB rendered): ` +
      `cold ${figures.filmColdMs.toFixed(1)} ms (read from the bucket + presign), ` +
      `first render per token ${figures.filmFirstRenderMs.toFixed(1)} ms (median of ${RENDERS}), ` +
      `cached ${figures.filmCachedMs.toFixed(2)} ms; ${FILM_SEGMENTS} × presign alone ${presignOnlyMs.toFixed(1)} ms`,
  );
  return figures;
}
