import { describe, expect, test } from "bun:test";
import type { AdminVideo } from "../api/types.ts";
import { applyProgressTick, type ProgressTick } from "./progress-tick.ts";

const row: AdminVideo = {
  id: 7,
  title: "Film",
  description: "",
  category: "Drama",
  created_at: "2026-12-01T20:00:00.000Z",
  revision: 2,
  processing_state: "processing",
  processing_error: null,
  playable: false,
  progress: { percent: 40, stage: "encoding", eta_seconds: 30 },
  duration_seconds: null,
  renditions: [],
  thumbnail_url: null,
};
const tick = (fields: Partial<ProgressTick>): ProgressTick => ({
  type: "video.progress",
  id: 7,
  revision: 2,
  state: "processing",
  percent: 50,
  stage: "encoding",
  eta_seconds: 20,
  ...fields,
});

describe("a progress tick on a library row", () => {
  test("moves the bar of its own revision", () => {
    expect(applyProgressTick(row, tick({}))).toEqual({
      ...row,
      progress: { percent: 50, stage: "encoding", eta_seconds: 20 },
    });
  });

  test("of a replaced file's old job is ignored; of a newer revision asks for the row to be read", () => {
    expect(applyProgressTick(row, tick({ revision: 1, percent: 81 }))).toBe("stale");
    expect(applyProgressTick(row, tick({ revision: 3, percent: 2 }))).toBe("behind");
  });

  test("never moves the bar back within one revision", () => {
    expect(applyProgressTick(row, tick({ percent: 35, eta_seconds: 60 }))).toEqual(row);
  });

  test("starts the bar of a pending row, and leaves a ready one alone", () => {
    const pending = {
      ...row,
      processing_state: "pending" as const,
      progress: { ...row.progress, percent: 0 },
    };
    expect(applyProgressTick(pending, tick({ percent: 3 }))).toMatchObject({
      processing_state: "processing",
      progress: { percent: 3 },
    });
    const ready = { ...row, processing_state: "ready" as const };
    expect(applyProgressTick(ready, tick({ percent: 99 }))).toBe(ready);
  });
});
