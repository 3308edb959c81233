// Viewers watching HLS: each VU signs in as a seeded viewer, reads the catalogue, picks a video and
// plays it as an adaptive player would (lib/player.js): master playlist, rung chosen from a throughput
// estimate, media playlist, segments fetched at real-time pace with a forward buffer, progress
// heartbeats every HEARTBEAT_SECONDS of playback. One iteration watches for WATCH_SECONDS, moving on
// to another video when one ends. Works against the api or the nginx edge (BASE_URL).
//
//   k6 run -e BASE_URL=http://localhost:3000 -e VUS=20 -e DURATION=5m -e WATCH_SECONDS=120 load-tests/streaming.js
//
// Staircase (what `bench:viewers` runs): LEVELS="250,500,…" with JOIN_PER_SECOND and STEP_HOLD_SECONDS
// (lib/config.js staircase): one run climbs level by level, every metric is tagged `level`, the
// thresholds hold per level, and the run stops at the first level with a rebuffer. SIGN_IN=setup signs
// each seeded account in once in setup() and lets its VUs share that session, so that joining is cheap
// and what a level measures is watching (the default, SIGN_IN=each, signs every VU in itself).
import { sleep } from "k6";
import exec from "k6/execution";
import http from "k6/http";
import { Counter, Trend } from "k6/metrics";
import {
  envNumber,
  envString,
  MAX_ERROR_RATE,
  parseSeed,
  SEED_FILE,
  staircase,
  TREND_STATS,
  vuScenario,
} from "./lib/config.js";
import { parseMaster, parseMedia } from "./lib/hls.js";
import { BandwidthEstimator, chooseRung, PlaybackClock } from "./lib/player.js";
import { expect, Session, signIn, viewerFor } from "./lib/session.js";
import { summaryHandler } from "./lib/summary.js";

const seed = parseSeed(open(SEED_FILE));
const STAIRS = staircase();
// On a staircase every viewer watches until the last step ends.
const WATCH_SECONDS = STAIRS ? STAIRS.totalMs / 1000 : envNumber("WATCH_SECONDS", 60);
const SIGN_IN = envString("SIGN_IN", "each");
if (SIGN_IN !== "each" && SIGN_IN !== "setup") throw new Error(`SIGN_IN is each or setup, got "${SIGN_IN}"`);
/** The forward buffer the player keeps, in segments (a new segment is fetched when it drops below). */
const BUFFER_SEGMENTS = envNumber("BUFFER_SEGMENTS", 3);
const HEARTBEAT_SECONDS = envNumber("HEARTBEAT_SECONDS", 10);
const SEGMENT_RETRIES = 2;

const timeToFirstSegment = new Trend("time_to_first_segment", true);
const rebufferEvents = new Counter("rebuffer_events");
/** Stalled time / (played + stalled time), one sample per viewing session (iteration). */
const rebufferRatio = new Trend("rebuffer_ratio");
const stalledSeconds = new Counter("stalled_seconds");
const playedSeconds = new Counter("played_seconds");
/** Segment download time / the segment's media duration: above 1 the player cannot keep up. */
const segmentDownloadRatio = new Trend("segment_download_ratio");
const bitrateSwitches = new Counter("bitrate_switches");
/** BANDWIDTH of the rung each segment was fetched from: what quality viewers got. */
const rungBandwidth = new Trend("rung_bandwidth");
const segmentsFetched = new Counter("segments");
const heartbeats = new Counter("heartbeats");

const THRESHOLDS = {
  errors: `rate<${MAX_ERROR_RATE}`,
  rebuffer_events: `count<=${envNumber("MAX_REBUFFERS", 0)}`,
  segment_download_ratio: `p(95)<${envNumber("SEGMENT_RATIO_P95", 0.2)}`,
  time_to_first_segment: `p(95)<${envNumber("TTFS_P95_MS", 2000)}`,
};

/** The same thresholds for every level of the staircase; a rebuffer ends the run (higher levels would fail too). */
function levelThresholds(levels) {
  const thresholds = {};
  for (const level of levels) {
    for (const [metric, threshold] of Object.entries(THRESHOLDS)) {
      thresholds[`${metric}{level:${level}}`] =
        metric === "rebuffer_events" ? [{ threshold, abortOnFail: true }] : [threshold];
    }
    // Never failing: only so that the summary carries these figures per level too.
    thresholds[`segments{level:${level}}`] = ["count>=0"];
    thresholds[`rung_bandwidth{level:${level}}`] = ["avg>=0"];
  }
  return thresholds;
}

export const options = {
  scenarios: {
    viewers: STAIRS
      ? {
          executor: "ramping-vus",
          exec: "watch",
          startVUs: 0,
          stages: STAIRS.stages,
          gracefulRampDown: "10s",
          gracefulStop: "10s",
        }
      : vuScenario("watch", { vus: 10, duration: "2m" }, { gracefulStop: `${WATCH_SECONDS + 30}s` }),
  },
  // One sign-in per VU, kept across iterations, as a browser keeps its cookies.
  noCookiesReset: true,
  summaryTrendStats: TREND_STATS,
  thresholds: STAIRS
    ? levelThresholds(STAIRS.levels)
    : Object.fromEntries(Object.entries(THRESHOLDS).map(([metric, threshold]) => [metric, [threshold]])),
};

/** SIGN_IN=setup: one session per seeded account, shared by the VUs that play as it. */
export function setup() {
  if (SIGN_IN !== "setup") return {};
  return { sessions: seed.viewers.map((viewer) => signIn(viewer)) };
}

/** On a staircase, the level in force, as a tag on everything this VU records from now on. */
function tagLevel() {
  if (STAIRS) exec.vu.metrics.tags.level = String(STAIRS.levelAt(Date.now() - exec.scenario.startTime));
}

const SEGMENT = "GET /api/video/:id/:rung/:segment";
const MEDIA_PLAYLIST = "GET /api/video/:id/:rung/index.m3u8";

let session;
let estimator; // a player keeps its throughput estimate from one video to the next

export function watch(data) {
  tagLevel();
  if (!session) {
    session = new Session(viewerFor(seed, __VU));
    const shared = data?.sessions?.[(__VU - 1) % seed.viewers.length];
    if (shared) session.adopt(shared);
  }
  estimator ??= new BandwidthEstimator();
  if (!session.ensureLoggedIn()) return sleep(1);
  const list = session.get("/api/videos/?limit=50", "GET /api/videos/");
  const videos = expect(list, list.status === 200, "catalogue")
    ? list.json("items").filter((video) => video.duration_seconds > 0)
    : [];
  if (videos.length === 0) {
    expect(null, false, "catalogue has no playable video");
    return sleep(1);
  }
  const deadline = STAIRS ? exec.scenario.startTime + STAIRS.totalMs : Date.now() + WATCH_SECONDS * 1000;
  let played = 0;
  let stalled = 0;
  while (Date.now() < deadline) {
    const video = videos[Math.floor(Math.random() * videos.length)];
    const outcome = play(video, deadline);
    played += outcome.played;
    stalled += outcome.stalled;
    if (outcome.failed) sleep(1);
  }
  if (played + stalled > 0) rebufferRatio.add(stalled / (played + stalled));
}

/** Plays one video from the start until it ends or the deadline passes. */
function play(video, deadline) {
  const startedAt = Date.now();
  const master = session.get(`/api/video/${video.id}/master.m3u8`, "GET /api/video/:id/master.m3u8");
  if (!expect(master, master.status === 200, "master playlist"))
    return { played: 0, stalled: 0, failed: true };
  let variants;
  try {
    variants = parseMaster(master.body, master.url);
  } catch (error) {
    expect(null, false, `master playlist of video ${video.id}: ${error.message}`);
    return { played: 0, stalled: 0, failed: true };
  }
  const playlists = new Map();
  const mediaOf = (index) => {
    if (!playlists.has(index)) playlists.set(index, fetchMediaPlaylist(variants[index]));
    return playlists.get(index);
  };

  const clock = new PlaybackClock();
  let current = chooseRung(variants, -1, estimator.bps(), 0, false, 0);
  let media = mediaOf(current);
  if (!media) return { played: 0, stalled: 0, failed: true };
  let lastHeartbeat = 0;
  const tick = (endOfStream = false) => {
    tagLevel();
    if (clock.advance(Date.now(), endOfStream)) rebufferEvents.add(1);
    if (clock.playing && clock.position - lastHeartbeat >= HEARTBEAT_SECONDS) {
      lastHeartbeat = clock.position;
      heartbeat(video.id, clock.position);
    }
  };
  /** Sleeps until `ready()` holds, the deadline passes, or a heartbeat is due (then sends it). */
  const waitWhile = (secondsLeft, endOfStream) => {
    for (;;) {
      tick(endOfStream);
      const wait = Math.min(
        secondsLeft(),
        lastHeartbeat + HEARTBEAT_SECONDS - clock.position,
        (deadline - Date.now()) / 1000,
      );
      if (wait <= 0) return;
      sleep(wait + 0.001);
    }
  };

  const targetBuffer = BUFFER_SEGMENTS * (media.targetDuration || media.segments[0].duration);
  let failed = false;
  while (clock.bufferedEnd < media.totalSeconds - 0.01 && Date.now() < deadline) {
    tick();
    if (clock.playing) {
      const next = chooseRung(
        variants,
        current,
        estimator.bps(),
        clock.ahead(),
        true,
        media.segments[0].duration,
      );
      const nextMedia = next === current ? media : mediaOf(next);
      if (nextMedia) {
        if (next !== current) bitrateSwitches.add(1, { direction: next > current ? "up" : "down" });
        current = next;
        media = nextMedia;
      }
    }
    const segment = segmentAt(media, clock.bufferedEnd);
    if (!segment) break;
    const response = fetchSegment(segment, variants[current]);
    if (!response) {
      failed = true;
      break;
    }
    tick();
    clock.bufferTo(segment.start + segment.duration);
    if (!clock.playing) {
      timeToFirstSegment.add(Date.now() - startedAt);
      clock.start(Date.now());
    }
    const downloadMs = response.timings.duration;
    const bytes =
      Number(response.headers["Content-Length"]) || (variants[current].bandwidth * segment.duration) / 8;
    estimator.sample(bytes, downloadMs);
    segmentDownloadRatio.add(downloadMs / 1000 / segment.duration, { rung: variants[current].name });
    rungBandwidth.add(variants[current].bandwidth);
    segmentsFetched.add(1, { rung: variants[current].name });
    // Keep the forward buffer at its target: fetch again once it drops below.
    waitWhile(() => clock.ahead() - targetBuffer, false);
  }
  // Everything is buffered (or time is up): play out what is left.
  if (!failed) waitWhile(() => clock.ahead(), true);
  tick(true);
  if (clock.position > 0) heartbeat(video.id, clock.position);
  playedSeconds.add(clock.position);
  stalledSeconds.add(clock.stalledSeconds);
  return { played: clock.position, stalled: clock.stalledSeconds, failed };
}

function fetchMediaPlaylist(variant) {
  const response = http.get(variant.url, { tags: { name: MEDIA_PLAYLIST, rung: variant.name } });
  if (!expect(response, response.status === 200, "media playlist")) return null;
  try {
    const media = parseMedia(response.body, response.url);
    let start = 0;
    for (const segment of media.segments) {
      segment.start = start;
      start += segment.duration;
    }
    return media;
  } catch (error) {
    expect(null, false, `media playlist ${variant.name}: ${error.message}`);
    return null;
  }
}

/** The segment that starts at media time `seconds` (rungs share segment boundaries). */
function segmentAt(media, seconds) {
  return media.segments.find((segment) => segment.start + segment.duration > seconds + 0.01);
}

/** Downloads a segment, retrying as players do; null when every attempt failed. */
function fetchSegment(segment, variant) {
  for (let attempt = 0; attempt <= SEGMENT_RETRIES; attempt++) {
    const response = http.get(segment.url, {
      responseType: "none",
      tags: { name: SEGMENT, rung: variant.name },
    });
    if (expect(response, response.status === 200, "segment")) return response;
  }
  return null;
}

function heartbeat(videoId, position) {
  const response = session.request(
    "PUT",
    `/api/progress/${videoId}`,
    { position_seconds: Math.round(position * 10) / 10, sent_at: Date.now() },
    "PUT /api/progress/:videoId",
  );
  if (expect(response, response.status === 204, "progress heartbeat")) heartbeats.add(1);
}

const summary = summaryHandler("streaming", (data) => {
  const played = data.metrics.played_seconds?.values.count ?? 0;
  const stalled = data.metrics.stalled_seconds?.values.count ?? 0;
  const ratio = played + stalled > 0 ? (stalled / (played + stalled)) * 100 : 0;
  return [
    `playback: ${played.toFixed(0)} s watched, ${stalled.toFixed(1)} s stalled (rebuffer ratio ${ratio.toFixed(3)}%)`,
  ];
});

/** The staircase's shape travels in the summary, for whoever reads its levels (infra/bench/viewers-report.ts). */
export const handleSummary = (data) =>
  summary(
    STAIRS ? { ...data, staircase: { levels: STAIRS.levels, step_seconds: STAIRS.stepSeconds } } : data,
  );
