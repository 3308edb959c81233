import { expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import pino from "pino";
import { ConnectionErrorLog } from "./error-log.ts";

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  let nowMs = 0;
  const errors = new ConnectionErrorLog(log, 30_000, () => nowMs);
  return { lines, errors, advance: (ms: number) => (nowMs += ms) };
}

const refused = () =>
  Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6379"), {
    code: "ECONNREFUSED",
    stack: "a\nstack",
  });

test("an error repeated during an outage is one line per interval, the next saying how many were left out", () => {
  const { lines, errors, advance } = capture();
  for (let n = 0; n < 50; n++) errors.report("redis request", refused());
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({
    level: 50,
    source: "redis request",
    err: "connect ECONNREFUSED 127.0.0.1:6379",
    code: "ECONNREFUSED",
    suppressed: 0,
    msg: "redis request: connection error",
  });
  expect(JSON.stringify(lines[0])).not.toContain("stack");

  advance(30_000);
  errors.report("redis request", refused());
  expect(lines).toHaveLength(2);
  expect(lines[1]).toMatchObject({ suppressed: 49 });
});

test("sources and distinct errors are throttled apart", () => {
  const { lines, errors } = capture();
  errors.report("redis queue", refused());
  errors.report("redis request", refused());
  errors.report("redis request", new Error("Connection is closed."));
  errors.report("redis request", new Error("Connection is closed."));
  expect(lines.map((line) => [line.source, line.err])).toEqual([
    ["redis queue", "connect ECONNREFUSED 127.0.0.1:6379"],
    ["redis request", "connect ECONNREFUSED 127.0.0.1:6379"],
    ["redis request", "Connection is closed."],
  ]);
});

test("the first success after errors is logged once; a source that never failed logs nothing", () => {
  const { lines, errors } = capture();
  errors.recovered("redis request");
  expect(lines).toEqual([]);
  errors.report("redis request", refused());
  errors.report("redis request", refused());
  errors.recovered("redis request");
  errors.recovered("redis request");
  expect(lines.slice(1)).toEqual([
    expect.objectContaining({
      level: 30,
      source: "redis request",
      suppressed: 1,
      msg: "redis request: connection restored",
    }),
  ]);
  // After a recovery the next outage is logged at once.
  errors.report("redis request", refused());
  expect(lines).toHaveLength(3);
});

test("watch routes an emitter's error events here, so none is left without a listener", () => {
  const { lines, errors } = capture();
  const queue = new EventEmitter();
  errors.watch(queue, "queue transcode");
  expect(() => queue.emit("error", refused())).not.toThrow();
  expect(lines).toEqual([expect.objectContaining({ source: "queue transcode", code: "ECONNREFUSED" })]);
});
