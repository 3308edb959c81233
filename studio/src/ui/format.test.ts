import { describe, expect, test } from "bun:test";
import { formatDuration, formatEta, formatRenditions, stageLabel } from "./format.ts";

describe("how the studio writes numbers", () => {
  test("durations", () => {
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(3.4)).toBe("0:03");
    expect(formatDuration(307)).toBe("5:07");
    expect(formatDuration(3723)).toBe("1:02:03");
  });

  test("time left", () => {
    expect(formatEta(null)).toBe("estimating…");
    expect(formatEta(0.2)).toBe("about 1 s left");
    expect(formatEta(42)).toBe("about 42 s left");
    expect(formatEta(150)).toBe("about 3 min left");
    expect(formatEta(5400)).toBe("about 1.5 h left");
  });

  test("stages and renditions", () => {
    expect(stageLabel("fast-start")).toBe("Quick preview");
    expect(stageLabel("some-new-stage")).toBe("Some new stage");
    expect(
      formatRenditions([
        { name: "360p", height: 360 },
        { name: "1080p", height: 1080 },
        { name: "720p", height: 720 },
      ]),
    ).toEqual(["1080p", "720p", "360p"]);
  });
});
