// The pure parts of HLS verification; the files themselves are checked in pipeline.test.ts.
import { describe, expect, test } from "bun:test";
import { parse, type types } from "hls-parser";
import type { Rendition } from "../../contract/media.ts";
import { aacCodecs, avcCodecs, hexDumpBytes } from "../../transcoder/hls/codecs.ts";
import { buildMasterPlaylist } from "../../transcoder/hls/master-playlist.ts";
import { repairTargetDuration, segmentBitrates } from "../../transcoder/hls/rendition.ts";

describe("CODECS", () => {
  test("from the sequence parameter set when the first picture carries one", () => {
    const dump =
      "\n00000000: 0000 0001 09f0 0000 0001 6764 0028 ac2b  ..........gd.(.+\n00000010: 4028 0f6c 0440 0000  @(.l.@..\n";
    const bytes = hexDumpBytes(dump);
    expect(bytes.slice(0, 12)).toEqual(Uint8Array.from([0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x67, 0x64]));
    expect(avcCodecs("High", 40, bytes)).toBe("avc1.640028");
    expect(
      avcCodecs("Constrained Baseline", 30, hexDumpBytes("00000000: 0000 0167 42c0 1eda  ...gB...")),
    ).toBe("avc1.42c01e");
  });

  test("from ffprobe's profile and level otherwise", () => {
    expect(avcCodecs("High", 40)).toBe("avc1.640028");
    expect(avcCodecs("High", 31)).toBe("avc1.64001f");
    expect(avcCodecs("Main", 30)).toBe("avc1.4d401e");
    expect(() => avcCodecs("Mystery", 30)).toThrow("unexpected H.264 profile");
  });

  test("AAC object types", () => {
    expect(aacCodecs("aac", "LC")).toBe("mp4a.40.2");
    expect(aacCodecs("aac", "HE-AAC")).toBe("mp4a.40.5");
    expect(() => aacCodecs("mp3", "")).toThrow("unexpected audio codec");
  });
});

describe("segmentBitrates", () => {
  test("peak is the busiest segment, average over the whole", () => {
    const { peak, average } = segmentBitrates([
      { uri: "a.ts", durationSeconds: 2, bytes: 250_000 },
      { uri: "b.ts", durationSeconds: 2, bytes: 500_000 },
      { uri: "c.ts", durationSeconds: 2, bytes: 250_000 },
    ]);
    expect(peak).toBe(2_000_000);
    expect(average).toBe(Math.ceil((1_000_000 * 8) / 6));
  });

  test("a short final segment does not inflate the peak", () => {
    const { peak } = segmentBitrates([
      { uri: "a.ts", durationSeconds: 6, bytes: 750_000 },
      { uri: "b.ts", durationSeconds: 6, bytes: 600_000 },
      { uri: "c.ts", durationSeconds: 0.2, bytes: 40_000 }, // 1.6 Mb/s over a fifth of a second
    ]);
    expect(peak).toBe(1_000_000);
  });

  test("a lone segment counts, however short", () => {
    expect(segmentBitrates([{ uri: "a.ts", durationSeconds: 0.5, bytes: 50_000 }]).peak).toBe(800_000);
  });
});

test("a zero target duration (single-frame video) is repaired to 1", () => {
  const playlist =
    "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:0\n#EXTINF:0.033333,\nseg_00000.ts\n#EXT-X-ENDLIST\n";
  expect(repairTargetDuration(playlist)).toContain("#EXT-X-TARGETDURATION:1\n");
  expect(repairTargetDuration(playlist.replace(":0\n", ":10\n"))).toContain("#EXT-X-TARGETDURATION:10\n");
});

test("the master playlist lists every rendition with its measured attributes", () => {
  const renditions: Rendition[] = [
    {
      name: "360p",
      width: 640,
      height: 360,
      bandwidth: 900_000,
      averageBandwidth: 800_000,
      codecs: "avc1.64001e,mp4a.40.2",
      frameRate: 29.97,
    },
    {
      name: "720p",
      width: 1280,
      height: 720,
      bandwidth: 3_100_000,
      averageBandwidth: 2_900_000,
      codecs: "avc1.64001f,mp4a.40.2",
      frameRate: 29.97,
    },
  ];
  const text = buildMasterPlaylist(renditions);
  expect(text).toContain("#EXT-X-INDEPENDENT-SEGMENTS");
  expect(text).toContain(
    '#EXT-X-STREAM-INF:BANDWIDTH=3100000,AVERAGE-BANDWIDTH=2900000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=29.970\n720p/index.m3u8',
  );
  const master = parse(text) as types.MasterPlaylist;
  expect(master.variants.map((variant) => variant.uri)).toEqual(["360p/index.m3u8", "720p/index.m3u8"]);
});
