// Requests to the api as the signed-in browser makes them: the session cookies ride along, every
// state-changing request echoes the csrftoken cookie in X-CSRFToken (the api's double-submit check),
// and an expired access token is refreshed once (POST /api/token/refresh/) and the request sent again.
// Parallel requests that meet a 401 share that one refresh, as the rotation of refresh tokens expects.

const SAFE_METHODS = new Set(["GET", "HEAD"]);
/** Requests that must not trigger a refresh themselves. */
const NO_REFRESH = new Set(["/api/login/", "/api/token/refresh/", "/api/logout/"]);

/** An answer other than 2xx, with the api's error body turned into one readable sentence. */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(readableError(status, body));
    this.name = "ApiRequestError";
  }
}

/** The api's error shape: `detail` or `message`, or field → messages. */
export function readableError(status: number, body: unknown): string {
  if (body && typeof body === "object") {
    const record = body as Record<string, unknown>;
    for (const key of ["detail", "message"]) {
      if (typeof record[key] === "string") return record[key] as string;
    }
    for (const [field, messages] of Object.entries(record)) {
      const first = Array.isArray(messages) ? messages[0] : messages;
      if (typeof first === "string") return `${field}: ${first}`;
    }
  }
  if (status === 0) return "The server cannot be reached. Check the connection and try again.";
  return `The server answered ${status}.`;
}

export function csrfToken(): string | null {
  for (const part of document.cookie.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === "csrftoken") return decodeURIComponent(value.join("="));
  }
  return null;
}

/** How a refresh went: the session lives on, it is over, or the api could not be asked. */
export type RefreshOutcome = "refreshed" | "refused" | "unreachable";

export class ApiClient {
  private refreshing: Promise<RefreshOutcome> | null = null;
  private readonly sessionEndedListeners = new Set<(notice?: string) => void>();

  /**
   * Called when the session is over (a refresh was refused, or the page ended it on purpose, with the
   * `notice` to say why): the app shows the sign-in page.
   */
  onSessionEnded(listener: (notice?: string) => void): () => void {
    this.sessionEndedListeners.add(listener);
    return () => this.sessionEndedListeners.delete(listener);
  }

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>("GET", path, undefined, signal);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>("POST", path, body);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("PATCH", path, body);
  }

  delete(path: string): Promise<null> {
    return this.request<null>("DELETE", path);
  }

  /**
   * A multipart upload with its progress (XMLHttpRequest: fetch reports none for a request body), the
   * CSRF echo, and one refresh and resend on a 401 like every other request.
   */
  async upload<T>(
    method: string,
    path: string,
    form: FormData,
    onProgress: (sentBytes: number, totalBytes: number) => void,
  ): Promise<T> {
    let answer = await this.sendForm(method, path, form, onProgress);
    if (answer.status === 401) {
      const outcome = await this.refresh();
      if (outcome === "refreshed") answer = await this.sendForm(method, path, form, onProgress);
      else if (outcome === "refused") this.sessionEnded();
      else throw new ApiRequestError(0, null);
    }
    const parsed: unknown = answer.text ? safeJson(answer.text) : null;
    if (answer.status < 200 || answer.status >= 300) throw new ApiRequestError(answer.status, parsed);
    return parsed as T;
  }

  private sendForm(
    method: string,
    path: string,
    form: FormData,
    onProgress: (sentBytes: number, totalBytes: number) => void,
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open(method, path);
      request.withCredentials = true;
      request.setRequestHeader("accept", "application/json");
      const csrf = csrfToken();
      if (csrf) request.setRequestHeader("x-csrftoken", csrf);
      request.upload.onprogress = (event) => {
        if (event.lengthComputable) onProgress(event.loaded, event.total);
      };
      request.onload = () => resolve({ status: request.status, text: request.responseText });
      request.onerror = () => reject(new ApiRequestError(0, null));
      request.send(form);
    });
  }

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    let response = await this.send(method, path, body, signal);
    if (response.status === 401 && !NO_REFRESH.has(path)) {
      const outcome = await this.refresh();
      if (outcome === "refreshed") response = await this.send(method, path, body, signal);
      else if (outcome === "refused") this.sessionEnded();
      else throw new ApiRequestError(0, null);
    }
    const text = await response.text();
    const parsed: unknown = text ? safeJson(text) : null;
    if (!response.ok) throw new ApiRequestError(response.status, parsed);
    return parsed as T;
  }

  /** One refresh at a time, shared by every request that needs it. */
  refresh(): Promise<RefreshOutcome> {
    // The csrftoken cookie lives as long as the refresh token: without it there is no session to
    // refresh (and the api would refuse the request without its echo anyway).
    if (csrfToken() === null) return Promise.resolve("refused");
    this.refreshing ??= this.send("POST", "/api/token/refresh/")
      .then((response): RefreshOutcome => {
        if (response.ok) return "refreshed";
        // 429 and 5xx say nothing about the session: it may well live on.
        return response.status === 401 || response.status === 403 ? "refused" : "unreachable";
      })
      .catch((): RefreshOutcome => "unreachable")
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  sessionEnded(notice?: string): void {
    for (const listener of this.sessionEndedListeners) listener(notice);
  }

  private async send(method: string, path: string, body?: unknown, signal?: AbortSignal) {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const csrf = csrfToken();
    if (!SAFE_METHODS.has(method) && csrf) headers["x-csrftoken"] = csrf;
    try {
      return await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        signal,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ApiRequestError(0, null);
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.slice(0, 200) };
  }
}
