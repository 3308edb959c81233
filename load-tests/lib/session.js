// A signed-in browser session as the SPA has one: HttpOnly cookies from POST /api/login/ in the VU's
// cookie jar, the readable `csrftoken` cookie echoed in X-CSRFToken on every state-changing request
// (api/http/csrf.ts), and one refresh (POST /api/token/refresh/) when the access token has expired.
import http from "k6/http";
import { Counter, Rate } from "k6/metrics";
import { BASE_URL, ORIGIN } from "./config.js";

/** Failed requests and messages of every kind (unexpected status, bad body, socket error). */
export const errors = new Rate("errors");
/** 429 answers: the target's rate limits are too tight for this load (see load-tests/README.md). */
export const rateLimited = new Counter("rate_limited");

/** Records one request's outcome; true when it was as expected. */
export function expect(response, ok, what) {
  errors.add(!ok, { what });
  if (response && response.status === 429) rateLimited.add(1, { what });
  if (!ok && response) {
    const body = typeof response.body === "string" ? response.body.slice(0, 200) : "";
    console.warn(`${what}: unexpected ${response.status} ${response.error || ""} ${body}`);
  } else if (!ok) console.warn(what);
  return ok;
}

function csrfHeaders(jar) {
  const headers = {};
  const csrf = (jar || http.cookieJar()).cookiesForURL(`${BASE_URL}/api/`).csrftoken;
  if (csrf && csrf.length > 0) headers["X-CSRFToken"] = csrf[0];
  if (ORIGIN) headers.Origin = ORIGIN;
  return headers;
}

/**
 * One request in the session; `name` groups URLs with ids into one metric series. A 401 (expired
 * access token) refreshes the session once and retries; a failed refresh logs in again.
 */
export class Session {
  constructor(account, jar) {
    this.account = account;
    this.jar = jar; // undefined: the VU's own jar (kept across iterations with noCookiesReset)
    this.loggedIn = false;
  }

  login() {
    const response = http.post(
      `${BASE_URL}/api/login/`,
      JSON.stringify({ email: this.account.email, password: this.account.password }),
      {
        ...this.params("POST /api/login/", { "Content-Type": "application/json" }),
        tags: { name: "POST /api/login/", kind: "login" },
      },
    );
    this.loggedIn = expect(response, response.status === 200, "login");
    return this.loggedIn;
  }

  ensureLoggedIn() {
    return this.loggedIn || this.login();
  }

  /**
   * Takes over a session signed in elsewhere (signIn in setup()): its cookies into this session's jar.
   * Many VUs then share one account's session, as tabs of one browser do.
   */
  adopt(cookies) {
    const jar = this.jar || http.cookieJar();
    for (const [name, value] of Object.entries(cookies)) jar.set(BASE_URL, name, value, { path: "/" });
    this.loggedIn = true;
  }

  refresh() {
    const response = http.post(
      `${BASE_URL}/api/token/refresh/`,
      null,
      this.params("POST /api/token/refresh/"),
    );
    return expect(response, response.status === 200, "refresh");
  }

  logout() {
    const response = http.post(`${BASE_URL}/api/logout/`, null, this.params("POST /api/logout/"));
    this.loggedIn = false;
    return expect(response, response.status === 200, "logout");
  }

  /** A request with the session's cookies (and CSRF header when it changes state). */
  request(method, path, body, name, extra = {}) {
    const headers = body === undefined || body === null ? {} : { "Content-Type": "application/json" };
    const send = () =>
      http.request(
        method,
        path.startsWith("http") ? path : `${BASE_URL}${path}`,
        body === undefined || body === null ? null : JSON.stringify(body),
        { ...this.params(name, headers), ...extra },
      );
    let response = send();
    if (response.status === 401 && (this.refreshQuietly() || this.login())) response = send();
    return response;
  }

  get(path, name, extra) {
    return this.request("GET", path, null, name, extra);
  }

  params(name, headers = {}) {
    const params = { headers: { ...csrfHeaders(this.jar), ...headers }, tags: { name } };
    if (this.jar) params.jar = this.jar;
    return params;
  }

  refreshQuietly() {
    const response = http.post(
      `${BASE_URL}/api/token/refresh/`,
      null,
      this.params("POST /api/token/refresh/"),
    );
    return response.status === 200;
  }
}

/** The viewer account of this VU: VUs share the seeded accounts round-robin. */
export function viewerFor(seed, vu) {
  return seed.viewers[(vu - 1) % seed.viewers.length];
}

/** Signs an account in with a jar of its own (for setup()); its cookies by name, or null on failure. */
export function signIn(account) {
  const session = new Session(account, new http.CookieJar());
  if (!session.login()) return null;
  const cookies = {};
  for (const [name, values] of Object.entries(session.jar.cookiesForURL(`${BASE_URL}/api/`))) {
    if (values.length > 0) cookies[name] = values[0];
  }
  return cookies;
}
