// tus-js-client's HTTP through fetch (its HttpStack option) instead of its own node:http stack, which
// costs Bun a good part of the throughput (BENCHMARKS.md, "Resumable uploads"). The bench's tus client
// and the 1 GiB upload test send their chunks through it: the body (a slice of the file) is sent as is.
import type { HttpRequest, HttpResponse, HttpStack } from "tus-js-client";

export const fetchHttpStack: HttpStack = {
  getName: () => "fetch",
  createRequest(method: string, url: string): HttpRequest {
    const headers = new Headers();
    const controller = new AbortController();
    return {
      getMethod: () => method,
      getURL: () => url,
      setHeader: (name, value) => headers.set(name, value),
      getHeader: (name) => headers.get(name) ?? undefined,
      setProgressHandler: () => {},
      async send(body): Promise<HttpResponse> {
        const response = await fetch(url, { method, headers, body, signal: controller.signal });
        const text = await response.text();
        return {
          getStatus: () => response.status,
          getHeader: (name) => response.headers.get(name) ?? undefined,
          getBody: () => text,
          getUnderlyingObject: () => response,
        };
      },
      abort: async () => controller.abort(),
      getUnderlyingObject: () => controller,
    };
  },
};
