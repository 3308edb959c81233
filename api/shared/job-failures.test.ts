import { describe, expect, test } from "bun:test";
import { readableFailure } from "./job-failures.ts";

describe("a job's failure as people read it", () => {
  test("the worker's own sentences stay as they are", () => {
    expect(readableFailure("The file is truncated or incomplete (its index is missing)")).toBe(
      "The file is truncated or incomplete (its index is missing)",
    );
    expect(readableFailure("Transcoding failed after 2 attempts: disk full")).toBe(
      "Transcoding failed after 2 attempts: disk full",
    );
  });

  test("BullMQ's wording and bare errors become a sentence", () => {
    expect(readableFailure("job stalled more than allowable limit")).toStartWith(
      "The transcoder stopped while working on this video too many times",
    );
    expect(readableFailure("ENOENT: no such file")).toBe("Transcoding failed: ENOENT: no such file");
    expect(readableFailure(undefined)).toBe("Transcoding failed for an unknown reason.");
    expect(readableFailure("")).toBe("Transcoding failed for an unknown reason.");
  });
});
