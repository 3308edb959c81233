// The player model and playlist parsing of streaming.js, run under bun test (plain ES modules; k6's
// `__ENV` is the only global they need).
import { describe, expect, test } from "bun:test";

globalThis.__ENV = {};
const { BandwidthEstimator, chooseRung, PlaybackClock } = await import("./player.js");
const { parseMaster, parseMedia, resolveUri } = await import("./hls.js");

const MASTER = `#EXTM3U
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=1372400,AVERAGE-BANDWIDTH=1281283,CODECS="avc1.42c01e,mp4a.40.2",RESOLUTION=854x480,FRAME-RATE=25.000
480p/index.m3u8?v=1&token=1795544400.mL0r
#EXT-X-STREAM-INF:BANDWIDTH=442176,AVERAGE-BANDWIDTH=419115,CODECS="avc1.42c015,mp4a.40.2",RESOLUTION=428x240,FRAME-RATE=25.000
240p/index.m3u8?v=1&token=1795544400.mL0r
`;
const MEDIA = `#EXTM3U
#EXT-X-TARGETDURATION:2
#EXT-X-PLAYLIST-TYPE:VOD
#EXTINF:2.000000,
seg_00000.ts?v=1&token=t
#EXTINF:1.500000,
seg_00001.ts?v=1&token=t
#EXT-X-ENDLIST
`;
const BASE = "http://edge.test/api/video/7/master.m3u8";

describe("playlists", () => {
  test("variants come sorted by bandwidth with their URIs resolved against the playlist", () => {
    const variants = parseMaster(MASTER, BASE);
    expect(variants.map((v) => [v.name, v.bandwidth, v.width])).toEqual([
      ["240p", 442176, 428],
      ["480p", 1372400, 854],
    ]);
    expect(variants[0].url).toBe("http://edge.test/api/video/7/240p/index.m3u8?v=1&token=1795544400.mL0r");
    expect(variants[0].codecs).toBe("avc1.42c015,mp4a.40.2");
  });

  test("segments keep their durations and query strings", () => {
    const media = parseMedia(MEDIA, "http://edge.test/api/video/7/480p/index.m3u8?v=1&token=t");
    expect(media.targetDuration).toBe(2);
    expect(media.totalSeconds).toBe(3.5);
    expect(media.segments[1]).toEqual({
      duration: 1.5,
      url: "http://edge.test/api/video/7/480p/seg_00001.ts?v=1&token=t",
    });
  });

  test("absolute, root-relative and dot URIs resolve as a browser resolves them", () => {
    expect(resolveUri(BASE, "https://cdn.test/a.ts")).toBe("https://cdn.test/a.ts");
    expect(resolveUri(BASE, "/api/x.ts?t=1")).toBe("http://edge.test/api/x.ts?t=1");
    expect(resolveUri(BASE, "../8/master.m3u8")).toBe("http://edge.test/api/video/8/master.m3u8");
  });

  test("anything but a playlist is refused", () => {
    expect(() => parseMaster('{"detail":"Not found."}', BASE)).toThrow("not an HLS playlist");
    expect(() => parseMedia("#EXTM3U\n", BASE)).toThrow("without segments");
  });
});

describe("the playback clock", () => {
  test("drains the buffer in real time and counts one rebuffer per stall", () => {
    const clock = new PlaybackClock();
    clock.bufferTo(2);
    clock.start(0);
    expect(clock.advance(1500)).toBe(false);
    expect(clock.ahead()).toBeCloseTo(0.5);
    expect(clock.advance(3000)).toBe(true); // ran dry at 2 s, stalled 1 s
    expect(clock.advance(3500)).toBe(false); // the same stall goes on
    expect(clock.stalledSeconds).toBeCloseTo(1.5);
    clock.bufferTo(4);
    expect(clock.advance(5000)).toBe(false);
    expect(clock.position).toBeCloseTo(3.5);
    expect(clock.stallEvents).toBe(1);
  });

  test("reaching the end of the last segment is the end, not a stall", () => {
    const clock = new PlaybackClock();
    clock.bufferTo(2);
    clock.start(0);
    expect(clock.advance(5000, true)).toBe(false);
    expect(clock.position).toBe(2);
    expect(clock.stalledSeconds).toBe(0);
  });
});

describe("rung choice", () => {
  const ladder = [{ bandwidth: 400_000 }, { bandwidth: 800_000 }, { bandwidth: 1_400_000 }];

  test("starts at the best rung the estimate carries with a safety margin", () => {
    expect(chooseRung(ladder, -1, 1_000_000, 0, false, 2)).toBe(0); // 800k > 0.7 × 1M
    expect(chooseRung(ladder, -1, 1_200_000, 0, false, 2)).toBe(1);
  });

  test("goes up one rung at a time, only with a segment's worth of buffer", () => {
    expect(chooseRung(ladder, 0, 10_000_000, 4, true, 2)).toBe(1);
    expect(chooseRung(ladder, 0, 10_000_000, 1, true, 2)).toBe(0);
    expect(chooseRung(ladder, 2, 10_000_000, 6, true, 2)).toBe(2);
  });

  test("drops when throughput no longer carries the rung, at once when the buffer would run dry", () => {
    expect(chooseRung(ladder, 2, 1_300_000, 6, true, 2)).toBe(1);
    expect(chooseRung(ladder, 2, 1_000_000, 6, true, 2)).toBe(0); // straight to the rung that fits
    // 2 s of 1.4 Mb/s at 1.5 Mb/s takes ~1.9 s, more than 80% of a 2 s buffer: the lowest that makes it.
    expect(chooseRung(ladder, 2, 1_500_000, 2, true, 2)).toBe(1);
    expect(chooseRung(ladder, 2, 500_000, 1, true, 2)).toBe(0);
  });

  test("the estimate follows measured downloads and starts from the configured default", () => {
    const estimator = new BandwidthEstimator();
    expect(estimator.bps()).toBe(1_000_000);
    estimator.sample(250_000, 1000); // 2 Mb/s
    expect(estimator.bps()).toBeCloseTo(2_000_000, -3);
  });
});
