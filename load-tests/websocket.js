// Many admin clients on GET /api/ws while the farm transcodes an upload: how quickly `video.progress`
// reaches every socket. Scenario `listeners`: VUS × SOCKETS_PER_VU sockets, opened over
// CONNECT_SECONDS with the admin's session cookie, each subscribing to all uploads, pinging every
// PING_SECONDS and closing after HOLD_SECONDS. Scenario `uploader`: after UPLOAD_DELAY_SECONDS it
// uploads the seed's clip UPLOADS times through the admin API, waits for `ready` and deletes it again
// (KEEP_UPLOADS=1 keeps it).
//
// Delivery latency = receive time − the tick's `at` (epoch ms stamped by the transcoder when it
// published). Both clocks must agree: exact on one host; across hosts it includes their offset.
//
//   k6 run -e BASE_URL=http://localhost:3000 -e ADMIN_EMAIL=… -e ADMIN_PASSWORD=… \
//     -e VUS=20 -e SOCKETS_PER_VU=50 load-tests/websocket.js
import { sleep } from "k6";
import http from "k6/http";
import { Counter, Rate, Trend } from "k6/metrics";
import { clearInterval, setInterval, setTimeout } from "k6/timers";
import { WebSocket } from "k6/websockets";
import {
  BASE_URL,
  besideSeed,
  envNumber,
  envString,
  MAX_ERROR_RATE,
  ORIGIN,
  SEED_FILE,
  TREND_STATS,
} from "./lib/config.js";
import { errors, expect } from "./lib/session.js";
import { summaryHandler } from "./lib/summary.js";

const VUS = envNumber("VUS", 10);
const SOCKETS_PER_VU = envNumber("SOCKETS_PER_VU", 10);
const CONNECT_SECONDS = envNumber("CONNECT_SECONDS", 5);
const HOLD_SECONDS = envNumber("HOLD_SECONDS", 60);
const PING_SECONDS = envNumber("PING_SECONDS", 15);
const UPLOADS = envNumber("UPLOADS", 1);
const UPLOAD_DELAY_SECONDS = envNumber("UPLOAD_DELAY_SECONDS", CONNECT_SECONDS + 2);
const TRANSCODE_TIMEOUT_SECONDS = envNumber("TRANSCODE_TIMEOUT_SECONDS", 120);
const KEEP_UPLOADS = envString("KEEP_UPLOADS", "") === "1";
const WS_URL = envString("WS_URL", `${BASE_URL.replace(/^http/, "ws")}/api/ws`);
const ADMIN = {
  email: envString("ADMIN_EMAIL", "admin@videoflix.local"),
  password: envString("ADMIN_PASSWORD", ""),
};
const clip =
  UPLOADS > 0
    ? open(envString("UPLOAD_FILE", besideSeed(JSON.parse(open(SEED_FILE)).upload_clip)), "b")
    : null;

const progressLatency = new Trend("ws_progress_latency", true);
const progressEvents = new Counter("ws_progress_events");
const progressWithoutTime = new Counter("ws_progress_without_at");
const welcomeTime = new Trend("ws_welcome_time", true);
/** Sockets whose welcome k6 dropped (see openSocket): reported, not a threshold, as it is k6's loss. */
const welcomeDropped = new Counter("ws_welcome_dropped_by_k6");
const pingRtt = new Trend("ws_ping_rtt", true);
/** Per socket and uploaded video: did the socket that saw its progress also get its `video.ready`? */
const readyDelivered = new Rate("ws_ready_delivered");
/** Per socket: did it see any progress at all while it was open? */
const progressSeen = new Rate("ws_progress_seen");
const transcodeTime = new Trend("transcode_time", true);

export const options = {
  scenarios: {
    listeners: {
      executor: "per-vu-iterations",
      exec: "listen",
      vus: VUS,
      iterations: 1,
      maxDuration: `${CONNECT_SECONDS + HOLD_SECONDS + 30}s`,
    },
    ...(UPLOADS > 0
      ? {
          uploader: {
            executor: "per-vu-iterations",
            exec: "upload",
            vus: 1,
            iterations: UPLOADS,
            startTime: `${UPLOAD_DELAY_SECONDS}s`,
            maxDuration: `${UPLOADS * TRANSCODE_TIMEOUT_SECONDS + 30}s`,
          },
        }
      : {}),
  },
  summaryTrendStats: TREND_STATS,
  thresholds: {
    errors: [`rate<${MAX_ERROR_RATE}`],
    ws_progress_without_at: ["count==0"],
    ws_progress_latency: [`p(95)<${envNumber("WS_P95_MS", 250)}`, `p(99)<${envNumber("WS_P99_MS", 1000)}`],
    // Without an upload there is nothing to deliver (a pure connection-count run).
    ...(UPLOADS > 0
      ? {
          ws_progress_events: ["count>0"],
          ws_progress_seen: ["rate>0.999"],
          ws_ready_delivered: ["rate>0.999"],
        }
      : {}),
  },
};

/** Signs the admin in once; every socket and the uploader use this session. */
export function setup() {
  if (!ADMIN.password)
    throw new Error("set ADMIN_EMAIL and ADMIN_PASSWORD (the admin receives progress events)");
  const response = http.post(`${BASE_URL}/api/login/`, JSON.stringify(ADMIN), {
    headers: { "Content-Type": "application/json" },
    tags: { name: "POST /api/login/" },
  });
  if (response.status !== 200) throw new Error(`admin login failed: ${response.status} ${response.body}`);
  const cookies = http.cookieJar().cookiesForURL(`${BASE_URL}/api/`);
  return { accessToken: cookies.access_token[0], csrfToken: cookies.csrftoken[0] };
}

export function listen(session) {
  const total = VUS * SOCKETS_PER_VU;
  for (let i = 0; i < SOCKETS_PER_VU; i++) {
    // Spread evenly over CONNECT_SECONDS across all VUs, as clients arriving one after another.
    const slot = (__VU - 1) * SOCKETS_PER_VU + i;
    setTimeout(() => openSocket(session), (slot / total) * CONNECT_SECONDS * 1000);
  }
}

function openSocket(session) {
  const openedAt = Date.now();
  const headers = { Cookie: `access_token=${session.accessToken}` };
  if (ORIGIN) headers.Origin = ORIGIN;
  const ws = new WebSocket(WS_URL, null, { headers, tags: { name: "/api/ws" } });
  const progressIds = new Set();
  const readyIds = new Set();
  const pings = new Map();
  let pingTimer = null;
  let planned = false;
  let welcomed = false;

  // Subscribes on `open`, not on the server's `welcome`: k6 (v1.8.1, internal/js/modules/k6/websockets)
  // starts reading the socket before it queues the open event, and drops a message read in between, so
  // the welcome that the server sends at once is lost now and then (1 socket of 100 in one CI run). A
  // browser queues both in order; the server accepts a subscribe as soon as the socket is open.
  ws.onopen = () => {
    errors.add(false, { what: "ws open" });
    ws.send(JSON.stringify({ type: "subscribe", all_uploads: true }));
    pingTimer = setInterval(() => {
      const id = String(pings.size + 1);
      pings.set(id, Date.now());
      ws.send(JSON.stringify({ type: "ping", id }));
    }, PING_SECONDS * 1000);
  };
  ws.onmessage = (event) => {
    const now = Date.now();
    const message = JSON.parse(event.data);
    switch (message.type) {
      case "welcome":
        welcomed = true;
        welcomeTime.add(now - openedAt);
        break;
      case "video.progress":
        progressEvents.add(1);
        progressIds.add(message.id);
        if (typeof message.at === "number") progressLatency.add(now - message.at);
        else progressWithoutTime.add(1);
        break;
      case "video.ready":
        readyIds.add(message.id);
        break;
      case "pong":
        if (pings.has(message.id)) pingRtt.add(now - pings.get(message.id));
        break;
      case "error":
        expect(null, false, `ws error message: ${message.code} ${message.detail}`);
        break;
    }
  };
  ws.onerror = (event) => expect(null, false, `ws error: ${event.error}`);
  ws.onclose = (event) => {
    if (pingTimer !== null) clearInterval(pingTimer);
    if (!planned) expect(null, false, `ws closed by the server (${event.code ?? "?"})`);
    if (!welcomed) welcomeDropped.add(1);
    if (UPLOADS > 0) progressSeen.add(progressIds.size > 0);
    for (const id of progressIds) readyDelivered.add(readyIds.has(id));
  };
  setTimeout(() => {
    planned = true;
    // The pings stop first: k6's send throws (InvalidStateError) once close() was called, and an
    // exception in a timer ends the VU's iteration with every socket it holds (HOLD_SECONDS is often a
    // multiple of PING_SECONDS).
    if (pingTimer !== null) clearInterval(pingTimer);
    pingTimer = null;
    ws.close();
  }, HOLD_SECONDS * 1000);
}

/** Uploads the clip as the admin, waits until it is ready, and deletes it again. */
export function upload(session) {
  const params = (name) => ({
    cookies: { access_token: session.accessToken, csrftoken: session.csrfToken },
    headers: ORIGIN
      ? { "X-CSRFToken": session.csrfToken, Origin: ORIGIN }
      : { "X-CSRFToken": session.csrfToken },
    tags: { name },
  });
  const started = Date.now();
  const created = http.post(
    `${BASE_URL}/api/admin/videos`,
    {
      title: `WebSocket load test ${__ITER + 1}`,
      category: "Load test uploads",
      file: http.file(clip, "clip.mp4", "video/mp4"),
    },
    params("POST /api/admin/videos"),
  );
  if (!expect(created, created.status === 202, "upload")) return;
  const id = created.json("id");
  let state = created.json("processing_state");
  while (state !== "ready" && state !== "error" && Date.now() - started < TRANSCODE_TIMEOUT_SECONDS * 1000) {
    sleep(0.5);
    const video = http.get(`${BASE_URL}/api/admin/videos/${id}`, params("GET /api/admin/videos/:id"));
    if (expect(video, video.status === 200, "admin video")) state = video.json("processing_state");
  }
  if (
    expect(null, state === "ready", `video ${id} ready within ${TRANSCODE_TIMEOUT_SECONDS} s (is ${state})`)
  )
    transcodeTime.add(Date.now() - started);
  if (!KEEP_UPLOADS) {
    const deleted = http.del(
      `${BASE_URL}/api/admin/videos/${id}`,
      null,
      params("DELETE /api/admin/videos/:id"),
    );
    expect(deleted, deleted.status === 204, "delete upload");
  }
}

export const handleSummary = summaryHandler("websocket", (data) => {
  const events = data.metrics.ws_progress_events?.values.count ?? 0;
  return [`progress: ${events} video.progress messages to ${VUS * SOCKETS_PER_VU} sockets`];
});
