import { describe, expect, test } from "bun:test";
import { ApiRequestError } from "../api/http.ts";
import type { AdminCategory } from "../api/types.ts";
import {
  categoryNameProblem,
  checkAfterRefusal,
  type DeleteCheck,
  deleteBlocked,
  deleteCheckOf,
  deleteRefusal,
  nameRefusal,
  neighbourOf,
  sortCategories,
  videoCountLabel,
} from "./category-rules.ts";

const category = (id: number, name: string): AdminCategory => ({
  id,
  name,
  video_count: 0,
  created_at: "2026-12-01T12:00:00.000Z",
});

describe("the categories page's rules", () => {
  test("a name is sent only when it has text and fits", () => {
    expect(categoryNameProblem("  ")).toBe("Give the category a name.");
    expect(categoryNameProblem("x".repeat(101))).toBe("At most 100 characters.");
    expect(categoryNameProblem(`  ${"x".repeat(100)}  `)).toBeNull();
    expect(categoryNameProblem("Animation")).toBeNull();
  });

  test("the list is alphabetical in any letter case, as the api sorts it", () => {
    const sorted = sortCategories([category(3, "drama"), category(1, "Animation"), category(2, "Comedy")]);
    expect(sorted.map((c) => c.name)).toEqual(["Animation", "Comedy", "drama"]);
  });

  test("a taken name shows the api's words for the field", () => {
    const taken = new ApiRequestError(409, { name: ["A category of this name exists already."] });
    expect(nameRefusal(taken)).toBe("A category of this name exists already.");
    expect(nameRefusal(new ApiRequestError(0, null))).toMatch(/cannot be reached/);
  });

  test("a delete refused while videos use the category says why, with the count", () => {
    const inUse = new ApiRequestError(409, {
      detail: "2 videos are filed under this category: move or delete them first.",
      reason: "in_use",
      video_count: 2,
    });
    expect(deleteRefusal(inUse)).toEqual({
      message: "2 videos are filed under this category: move or delete them first.",
      videoCount: 2,
      gone: false,
    });
    const gone = deleteRefusal(new ApiRequestError(404, { detail: "Category not found." }));
    expect(gone.message).toMatch(/gone already/);
    expect(gone.gone).toBe(true);
    expect(deleteRefusal(new ApiRequestError(500, null))).toEqual({
      message: "The server answered 500.",
      videoCount: null,
      gone: false,
    });
  });

  test("the delete dialog blocks on a fresh count, or once gone; any other failure can be retried", () => {
    const fresh = (video_count: number) => ({ category: { ...category(4, "Shorts"), video_count } });
    expect(deleteCheckOf(fresh(0))).toEqual({ kind: "free" });
    // The list said 3 videos, the fresh read says none: Delete is offered.
    expect(deleteBlocked(deleteCheckOf(fresh(0)))).toBe(false);
    expect(deleteCheckOf(fresh(3))).toEqual({ kind: "in_use", videoCount: 3 });
    expect(deleteBlocked({ kind: "in_use", videoCount: 3 })).toBe(true);
    expect(deleteCheckOf({ error: new ApiRequestError(404, { detail: "Category not found." }) })).toEqual({
      kind: "gone",
    });
    const unread = deleteCheckOf({ error: new ApiRequestError(0, null) });
    expect(unread).toEqual({ kind: "unread" });
    expect(deleteBlocked(unread)).toBe(false);
    expect(deleteBlocked({ kind: "checking" })).toBe(true);

    const free: DeleteCheck = { kind: "free" };
    const failed = deleteRefusal(new ApiRequestError(500, null));
    expect(deleteBlocked(checkAfterRefusal(free, failed))).toBe(false);
    const inUse = deleteRefusal(new ApiRequestError(409, { detail: "…", reason: "in_use", video_count: 1 }));
    expect(checkAfterRefusal(free, inUse)).toEqual({ kind: "in_use", videoCount: 1 });
    const gone = deleteRefusal(new ApiRequestError(404, { detail: "Category not found." }));
    expect(checkAfterRefusal(free, gone)).toEqual({ kind: "gone" });
  });

  test("after a row leaves, the keyboard goes to the next one, else the one before, else the form", () => {
    const list = [1, 2, 3].map((id) => category(id, `C${id}`));
    expect(neighbourOf(list, 2)).toBe(3);
    expect(neighbourOf(list, 3)).toBe(2);
    expect(neighbourOf([list[0]!], 1)).toBeNull();
    expect(neighbourOf(list, 99)).toBeNull();
  });

  test("video counts read as words", () => {
    expect(videoCountLabel(0)).toBe("No videos");
    expect(videoCountLabel(1)).toBe("1 video");
    expect(videoCountLabel(12)).toBe("12 videos");
  });
});
