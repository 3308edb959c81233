import { describe, expect, test } from "bun:test";
import { timeAgo } from "./relative-time.ts";

const now = new Date("2026-12-01T12:00:00.000Z");
const before = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString();

describe("how long ago", () => {
  test("seconds, minutes and hours", () => {
    expect(timeAgo(before(10), now)).toBe("just now");
    expect(timeAgo(before(-30), now)).toBe("just now");
    expect(timeAgo(before(50), now)).toBe("1 minute ago");
    expect(timeAgo(before(5 * 60 + 20), now)).toBe("5 minutes ago");
    expect(timeAgo(before(3 * 3600 + 100), now)).toBe("3 hours ago");
  });

  test("days, months and years", () => {
    expect(timeAgo(before(86_400 + 3600), now)).toBe("yesterday");
    expect(timeAgo(before(6 * 86_400), now)).toBe("6 days ago");
    expect(timeAgo(before(65 * 86_400), now)).toBe("2 months ago");
    expect(timeAgo(before(800 * 86_400), now)).toBe("2 years ago");
  });

  test("an unreadable moment says nothing", () => {
    expect(timeAgo("not a date", now)).toBe("");
  });
});
