// What clients get while Redis or PostgreSQL is down: login, the catalogue, an admin read and a
// heartbeat, asked again and again for as long as the outage lasts. Each must be answered within a
// second, with 503 (JSON, Retry-After) when it needs what is down, or served when it does not.
import { Client } from "../../dev/browser-client.ts";
import type { AdminSession } from "./admin-session.ts";
import { ADMIN } from "./farm.ts";

/** The answer the issue asks for: within this long, whatever the outage. */
export const ANSWER_WITHIN_MS = 1000;

export interface ProbeAnswer {
  request: string;
  /** The HTTP status, or null when no answer came (refused, reset, or past the client's patience). */
  status: number | null;
  ms: number;
  retryAfter: string | null;
  json: boolean;
}

async function timed(
  request: string,
  send: (signal: AbortSignal) => Promise<Response>,
): Promise<ProbeAnswer> {
  const started = performance.now();
  try {
    // Patience beyond the limit, so that a slow answer is measured rather than cut off at the limit.
    const response = await send(AbortSignal.timeout(ANSWER_WITHIN_MS * 8));
    const body = await response.text();
    let json = false;
    try {
      JSON.parse(body);
      json = true;
    } catch {}
    return {
      request,
      status: response.status,
      ms: performance.now() - started,
      retryAfter: response.headers.get("retry-after"),
      json,
    };
  } catch {
    return { request, status: null, ms: performance.now() - started, retryAfter: null, json: false };
  }
}

/** Why an answer during an outage is not acceptable, or null when it is. */
export function outageViolation(answer: ProbeAnswer): string | null {
  const took = `${Math.round(answer.ms)} ms`;
  if (answer.status === null) return `${answer.request}: no answer (${took})`;
  if (answer.ms > ANSWER_WITHIN_MS) return `${answer.request}: ${answer.status} after ${took}`;
  if (answer.status === 503) {
    if (!answer.json) return `${answer.request}: 503 without a JSON body`;
    if (!answer.retryAfter) return `${answer.request}: 503 without Retry-After`;
    return null;
  }
  if (answer.status >= 200 && answer.status < 300) return null;
  return `${answer.request}: ${answer.status} in ${took}`;
}

export interface OutageReport {
  answers: ProbeAnswer[];
  violations: string[];
  slowestMs: number;
}

/**
 * Probes the api in rounds until `until` resolves. `heartbeatVideo`: a ready video to send heartbeats
 * for, at a position per round (none: no heartbeat probe). Heartbeats answered 2xx are returned so the caller can hold the api
 * to them ("every acknowledged heartbeat stored").
 */
export async function probeDuringOutage(
  session: AdminSession,
  until: Promise<unknown>,
  heartbeatVideo: { id: number; positionAt: (round: number) => number } | null,
): Promise<OutageReport & { acknowledgedHeartbeats: Array<{ position: number; sentAt: number }> }> {
  let done = false;
  void until.finally(() => {
    done = true;
  });
  const answers: ProbeAnswer[] = [];
  const acknowledgedHeartbeats: Array<{ position: number; sentAt: number }> = [];
  const videoPath = heartbeatVideo ? `/api/admin/videos/${heartbeatVideo.id}` : "/api/admin/videos";
  let rounds = 0;
  do {
    rounds += 1;
    const round: Array<Promise<ProbeAnswer>> = [
      timed("POST /api/login/", (signal) =>
        fetch(`${session.apiUrl}/api/login/`, {
          method: "POST",
          body: JSON.stringify(ADMIN),
          // A fresh client address each time: the login limit per address never decides the answer.
          headers: { "content-type": "application/json", "x-forwarded-for": new Client(session.apiUrl).ip },
          signal,
        }),
      ),
      timed("GET /api/video/", (signal) => session.get("/api/video/", signal)),
      timed(`GET ${videoPath}`, (signal) => session.get(videoPath, signal)),
    ];
    if (heartbeatVideo) {
      const sentAt = Date.now();
      const position = heartbeatVideo.positionAt(rounds);
      round.push(
        timed("PUT /api/progress/:id", (signal) =>
          session.heartbeat(heartbeatVideo.id, position, sentAt, signal),
        ).then((answer) => {
          if (answer.status !== null && answer.status >= 200 && answer.status < 300)
            acknowledgedHeartbeats.push({ position, sentAt });
          return answer;
        }),
      );
    }
    answers.push(...(await Promise.all(round)));
    await Bun.sleep(250);
  } while (!done);
  return { ...summarise(answers), acknowledgedHeartbeats };
}

/** One line per request and status that went wrong, with its slowest answer and how often it came. */
function summarise(answers: ProbeAnswer[]): OutageReport {
  const worst = new Map<string, { answer: ProbeAnswer; count: number }>();
  for (const answer of answers) {
    if (outageViolation(answer) === null) continue;
    const key = `${answer.request} ${answer.status}`;
    const seen = worst.get(key);
    if (!seen) worst.set(key, { answer, count: 1 });
    else worst.set(key, { answer: answer.ms > seen.answer.ms ? answer : seen.answer, count: seen.count + 1 });
  }
  const violations = [...worst.values()].map(
    ({ answer, count }) => `${outageViolation(answer)}${count > 1 ? ` (${count} times)` : ""}`,
  );
  return { answers, violations, slowestMs: Math.max(0, ...answers.map((answer) => answer.ms)) };
}
