// A cookie session against a running api, as the SPA has one: cookies from the answers, and the
// readable `csrftoken` cookie echoed in X-CSRFToken on state-changing requests (api/http/csrf.ts).

export class ApiError extends Error {
  constructor(
    readonly status: number,
    what: string,
    body: string,
  ) {
    super(`${what}: HTTP ${status} ${body.slice(0, 300)}`);
  }
}

export class ApiClient {
  private readonly cookies = new Map<string, string>();

  constructor(readonly baseUrl: string) {}

  async request(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0) {
      headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    }
    const csrf = this.cookies.get("csrftoken");
    if (csrf && method !== "GET") headers["x-csrftoken"] = csrf;
    let payload: BodyInit | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers["content-type"] = "application/json";
    }
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: payload,
      redirect: "manual",
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === "" || /max-age=0(;|$)/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  /** The JSON answer of a request that must answer `expected`; anything else throws with the body. */
  async json<T>(method: string, path: string, body: unknown, expected: number, what: string): Promise<T> {
    const response = await this.request(method, path, body);
    const text = await response.text();
    if (response.status !== expected) throw new ApiError(response.status, what, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** POST /api/login/; false for wrong credentials or an inactive account (400), throws otherwise. */
  async login(email: string, password: string): Promise<boolean> {
    const response = await this.request("POST", "/api/login/", { email, password });
    const text = await response.text();
    if (response.status === 200) return true;
    if (response.status === 400) return false;
    throw new ApiError(response.status, `login as ${email}`, text);
  }
}
