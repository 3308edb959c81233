import { describe, expect, test } from "bun:test";
import { parseDurationSeconds, parseRateLimit } from "../../config/duration.ts";

describe("parseDurationSeconds", () => {
  test("bare seconds and every unit", () => {
    expect(parseDurationSeconds("900")).toBe(900);
    expect(parseDurationSeconds("90s")).toBe(90);
    expect(parseDurationSeconds("30m")).toBe(1800);
    expect(parseDurationSeconds("12h")).toBe(43200);
    expect(parseDurationSeconds("7d")).toBe(604800);
  });

  test("units are case-insensitive; surrounding space is ignored", () => {
    expect(parseDurationSeconds("1D")).toBe(86400);
    expect(parseDurationSeconds("2H")).toBe(7200);
    expect(parseDurationSeconds(" 5m ")).toBe(300);
    expect(parseDurationSeconds("5 m")).toBe(300);
    expect(parseDurationSeconds("007")).toBe(7);
  });

  test("zero is not a duration", () => {
    expect(parseDurationSeconds("0")).toBeNull();
    expect(parseDurationSeconds("0m")).toBeNull();
  });

  test("malformed values are null", () => {
    for (const value of [
      "",
      " ",
      "soon",
      "m",
      "-5",
      "+5",
      "1.5h",
      "1e3",
      "5w",
      "5ms",
      "5 minutes",
      "0x10",
      "5m5s",
    ]) {
      expect({ value, seconds: parseDurationSeconds(value) }).toEqual({ value, seconds: null });
    }
  });

  test("a value past the safe-integer range is null, not a rounded number", () => {
    expect(parseDurationSeconds("99999999999999999999d")).toBeNull();
    expect(parseDurationSeconds(`${Number.MAX_SAFE_INTEGER}`)).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseDurationSeconds(`${Number.MAX_SAFE_INTEGER}d`)).toBeNull();
  });
});

describe("parseRateLimit", () => {
  test("requests per window", () => {
    expect(parseRateLimit("10/15m")).toEqual({ limit: 10, windowSeconds: 900 });
    expect(parseRateLimit("1/1")).toEqual({ limit: 1, windowSeconds: 1 });
    expect(parseRateLimit("120/1h")).toEqual({ limit: 120, windowSeconds: 3600 });
    expect(parseRateLimit(" 10 / 1m ")).toEqual({ limit: 10, windowSeconds: 60 });
  });

  test("malformed rates are null", () => {
    for (const value of [
      "",
      "10",
      "10/",
      "/1m",
      "ten/1m",
      "10/soon",
      "0/1m",
      "10/0",
      "-1/1m",
      "1.5/1m",
      "1e2/1m",
    ]) {
      expect({ value, rule: parseRateLimit(value) }).toEqual({ value, rule: null });
    }
  });

  test("a rate with more than one slash is null", () => {
    expect(parseRateLimit("10/1m/2")).toBeNull();
  });
});
