import { describe, expect, test } from "bun:test";
import { matchesEtag, parseRange, rewritePlaylist } from "./http.ts";

describe("parseRange", () => {
  test("the three forms, clipped to the file", () => {
    expect(parseRange("bytes=0-99", 1000)).toEqual({ start: 0, end: 99 });
    expect(parseRange("bytes=900-", 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange("bytes=-100", 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange("bytes=-5000", 1000)).toEqual({ start: 0, end: 999 });
    expect(parseRange("bytes=990-5000", 1000)).toEqual({ start: 990, end: 999 });
  });

  test("unsatisfiable and ignored ranges", () => {
    expect(parseRange("bytes=1000-", 1000)).toBe("unsatisfiable");
    expect(parseRange("bytes=1000-1001", 1000)).toBe("unsatisfiable");
    expect(parseRange("bytes=-0", 1000)).toBe("unsatisfiable");
    expect(parseRange("bytes=0-0", 0)).toBe("unsatisfiable");
    expect(parseRange(null, 1000)).toBeNull();
    expect(parseRange("bytes=5-1", 1000)).toBeNull();
    expect(parseRange("bytes=0-1,5-6", 1000)).toBeNull();
    expect(parseRange("items=0-1", 1000)).toBeNull();
    expect(parseRange("bytes=-", 1000)).toBeNull();
  });
});

test("matchesEtag compares weakly and understands lists and *", () => {
  expect(matchesEtag('"a"', '"a"')).toBe(true);
  expect(matchesEtag('W/"a"', '"a"')).toBe(true);
  expect(matchesEtag('"b", "a"', '"a"')).toBe(true);
  expect(matchesEtag("*", '"a"')).toBe(true);
  expect(matchesEtag('"b"', '"a"')).toBe(false);
  expect(matchesEtag(null, '"a"')).toBe(false);
});

test("rewritePlaylist signs relative URIs and URI attributes, never absolute ones", () => {
  const playlist = [
    "#EXTM3U",
    '#EXT-X-MAP:URI="init.mp4"',
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",URI="audio/index.m3u8"',
    "#EXTINF:1.0,",
    "seg_00000.ts",
    "#EXTINF:1.0,",
    "https://cdn.example.com/seg_00001.ts",
    "#EXTINF:1.0,",
    "seg_00002.ts?x=1\r",
    "",
  ].join("\n");
  expect(rewritePlaylist(playlist, "v=1&token=t")).toBe(
    [
      "#EXTM3U",
      '#EXT-X-MAP:URI="init.mp4?v=1&token=t"',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",URI="audio/index.m3u8?v=1&token=t"',
      "#EXTINF:1.0,",
      "seg_00000.ts?v=1&token=t",
      "#EXTINF:1.0,",
      "https://cdn.example.com/seg_00001.ts",
      "#EXTINF:1.0,",
      "seg_00002.ts?x=1&v=1&token=t",
      "",
    ].join("\n"),
  );
});
