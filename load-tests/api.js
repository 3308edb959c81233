// The browsing side of the api: what viewers do between videos. Scenario `browse` (VUS / DURATION or
// RAMP): each VU signs in once as a seeded viewer, then every iteration is a visit: home rows per
// category, continue watching, categories, a filtered list paged to its end, a search, a video's
// details, a favorite added, listed and removed, the Videoflix list, the signed-in user, and now and
// then a session refresh. Scenario `logins` (LOGIN_RATE per minute): fresh sign-ins and sign-outs,
// rotating over the seeded viewers (argon2 verification is the api's most expensive request).
//
//   k6 run -e BASE_URL=http://localhost:3000 -e VUS=50 -e DURATION=5m load-tests/api.js
import { check, sleep } from "k6";
import http from "k6/http";
import { Counter } from "k6/metrics";
import {
  BASE_URL,
  envNumber,
  MAX_ERROR_RATE,
  parseSeed,
  SEED_FILE,
  scenarioDuration,
  TREND_STATS,
  vuScenario,
} from "./lib/config.js";
import { expect, Session, viewerFor } from "./lib/session.js";
import { summaryHandler } from "./lib/summary.js";

const seed = parseSeed(open(SEED_FILE));
const THINK_SECONDS = envNumber("THINK_SECONDS", 1);
const REFRESH_SHARE = envNumber("REFRESH_SHARE", 0.05);
const LOGIN_RATE = envNumber("LOGIN_RATE", 10);

const visits = new Counter("visits");

const scenarios = { browse: vuScenario("browse", { vus: 10, duration: "2m" }, { gracefulStop: "10s" }) };
if (LOGIN_RATE > 0) {
  scenarios.logins = {
    executor: "constant-arrival-rate",
    exec: "signInAndOut",
    rate: LOGIN_RATE,
    timeUnit: "1m",
    duration: scenarioDuration("2m"),
    preAllocatedVUs: 2,
    maxVUs: 10,
  };
}

export const options = {
  scenarios,
  noCookiesReset: true,
  summaryTrendStats: TREND_STATS,
  thresholds: {
    errors: [`rate<${MAX_ERROR_RATE}`],
    rate_limited: ["count==0"],
    "http_req_duration{kind:read}": [`p(95)<${envNumber("READ_P95_MS", 300)}`],
    "http_req_duration{kind:write}": [`p(95)<${envNumber("WRITE_P95_MS", 300)}`],
    "http_req_duration{kind:login}": [`p(95)<${envNumber("LOGIN_P95_MS", 1500)}`],
  },
};

let session;

function read(path, name) {
  const response = session.get(path, name, { tags: { name, kind: "read" } });
  return expect(response, response.status === 200, name) ? response.json() : null;
}

function write(method, path, name, expected = 204) {
  const response = session.request(method, path, null, name, { tags: { name, kind: "write" } });
  return expect(response, response.status === expected, name);
}

const pick = (items) => items[Math.floor(Math.random() * items.length)];
const think = () => sleep(THINK_SECONDS * (0.5 + Math.random()));

export function browse() {
  session ??= new Session(viewerFor(seed, __VU));
  if (!session.ensureLoggedIn()) return sleep(1);
  visits.add(1);

  const rows = read("/api/videos/?grouped=category&limit=10", "GET /api/videos/?grouped");
  read("/api/progress/", "GET /api/progress/");
  const categories = read("/api/categories/", "GET /api/categories/") || [];
  think();

  // A category's list, paged to its end with small pages.
  const videos = [];
  if (categories.length > 0) {
    const category = encodeURIComponent(pick(categories).name);
    let cursor = null;
    for (let page = 0; page < 5; page++) {
      const query = `category=${category}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const result = read(`/api/videos/?${query}`, "GET /api/videos/?category");
      if (!result) break;
      videos.push(...result.items);
      cursor = result.next_cursor;
      if (!cursor) break;
    }
  }
  const all = videos.length > 0 ? videos : (rows || []).flatMap((row) => row.videos);
  if (all.length === 0) {
    expect(null, false, "catalogue has no video");
    return sleep(1);
  }
  const video = pick(all);
  // A search for a word of a title.
  const word = pick(video.title.split(/\s+/).filter((w) => w.length > 2)) || video.title;
  read(`/api/videos/?q=${encodeURIComponent(word)}&limit=10`, "GET /api/videos/?q");
  think();

  const details = read(`/api/videos/${video.id}`, "GET /api/videos/:id");
  if (details) {
    write("PUT", `/api/favorites/${video.id}`, "PUT /api/favorites/:videoId");
    const favorites = read("/api/favorites/?limit=10", "GET /api/favorites/");
    // A check, not an error: VUs that share an account (VUS > viewers) may remove it in between.
    if (favorites)
      check(favorites, { "a favorite just added is listed": (f) => f.items.some((i) => i.id === video.id) });
    write("DELETE", `/api/favorites/${video.id}`, "DELETE /api/favorites/:videoId");
  }
  think();

  read("/api/video/", "GET /api/video/");
  read("/api/me/", "GET /api/me/");
  if (Math.random() < REFRESH_SHARE) {
    const response = http.post(`${BASE_URL}/api/token/refresh/`, null, {
      ...session.params("POST /api/token/refresh/"),
      tags: { name: "POST /api/token/refresh/", kind: "write" },
    });
    expect(response, response.status === 200, "refresh");
  }
  think();
}

let signInCount = 0;

/** One sign-in and sign-out with a cookie jar of its own, rotating over the seeded viewers. */
export function signInAndOut() {
  const account = seed.viewers[(__VU * 7919 + signInCount++) % seed.viewers.length];
  const own = new Session(account, new http.CookieJar());
  const response = http.post(
    `${BASE_URL}/api/login/`,
    JSON.stringify({ email: account.email, password: account.password }),
    {
      ...own.params("POST /api/login/", { "Content-Type": "application/json" }),
      tags: { name: "POST /api/login/", kind: "login" },
    },
  );
  if (expect(response, response.status === 200, "login")) own.logout();
}

export const handleSummary = summaryHandler("api");
