import { describe, expect, test } from "bun:test";
import type { CatalogueEntry } from "../../catalogue/model.ts";
import {
  authemailLinks,
  heightOfFile,
  partsOfCode,
  presentAuthemailVideo,
  slugOf,
  sourceOfFile,
} from "./presenter.ts";

const entry: CatalogueEntry = {
  id: 7,
  created_at: "2026-11-24T08:00:00.000Z",
  title: "Big Buck Bunny",
  description: "A giant rabbit takes revenge.",
  thumbnail_url: "https://api.example/api/video/7/thumbnails/poster-640.jpg",
  category: "Animation",
  category_id: 3,
  duration_seconds: 596.5,
  renditions: [],
  playable: true,
  playable_at: "2026-11-24T08:00:09.000Z",
  complete: true,
};

const sources = [
  { height: 1080, url: "https://api.example/api/video/7/1080p/video.mp4?v=1&token=T" },
  { height: 720, url: "https://api.example/api/video/7/720p/video.mp4?v=1&token=T" },
  { height: 360, url: "https://api.example/api/video/7/360p/video.mp4?v=1&token=T" },
];

describe("the player's MP4 URL rewriting", () => {
  const video = presentAuthemailVideo(entry, sources, { publicUrl: "https://api.example", token: "99.tag" });

  test("`file` holds `.mp4` once, and its first-`.mp4` replacements name the rungs, the token kept", () => {
    expect(video.file).toBe("https://api.example/compat/authemail/media/7/video.mp4?token=99.tag");
    const file = video.file!;
    expect(file.split(".mp4")).toHaveLength(2);
    // What the frontend's dashboard builds, in its order.
    const chain = ["1080p", "720p", "360p", "120p"].map((label) => file.replace(".mp4", `_${label}.mp4`));
    expect(chain[1]).toBe("https://api.example/compat/authemail/media/7/video_720p.mp4?token=99.tag");
    const served = chain.map((url) => {
      const name = new URL(url).pathname.split("/").at(-1)!;
      const height = heightOfFile(name);
      return height === null ? null : (sourceOfFile(sources, height)?.height ?? null);
    });
    expect(served).toEqual([1080, 720, 360, null]);
    expect(sourceOfFile(sources, heightOfFile("video.mp4")!)?.height).toBe(1080);
    // Lowest first (as the transcoder's own list is) changes nothing.
    const ascending = [...sources].reverse();
    expect(sourceOfFile(ascending, 0)?.height).toBe(1080);
    const again = presentAuthemailVideo(entry, ascending, {
      publicUrl: "https://api.example",
      token: "99.tag",
    });
    expect(again.resolutions.map((rung) => rung.label)).toEqual(["1080p", "720p", "360p"]);
  });

  test("resolutions list every rung's URL, tallest first; without MP4s the media fields are empty", () => {
    expect(video.resolutions.map((rung) => [rung.label, rung.type])).toEqual([
      ["1080p", "video/mp4"],
      ["720p", "video/mp4"],
      ["360p", "video/mp4"],
    ]);
    expect(video.resolutions[2]!.src).toBe(
      "https://api.example/compat/authemail/media/7/video_360p.mp4?token=99.tag",
    );
    const none = presentAuthemailVideo(entry, [], { publicUrl: "https://api.example", token: "99.tag" });
    expect([none.file, none.resolutions]).toEqual([null, []]);
    expect(none.category).toEqual({ id: 3, name: "Animation", slug: "animation" });
  });

  test("only `video.mp4` and `video_<N>p.mp4` name a rung", () => {
    expect(heightOfFile("video_120p.mp4")).toBe(120);
    for (const name of [
      "video_p.mp4",
      "video_0720p.mp4",
      "video.mp4.mp4",
      "Video.mp4",
      "video_720p.m3u8",
      "",
    ])
      expect({ name, height: heightOfFile(name) }).toEqual({ name, height: null });
    expect(sourceOfFile([], 0)).toBeNull();
  });
});

describe("codes and links", () => {
  test("the code joins uid and token by the first `.`; what is not one of ours is null", () => {
    expect(partsOfCode("Mg.abc-DEF_12")).toEqual({ uid: "Mg", token: "abc-DEF_12" });
    expect(partsOfCode("Mg.a.b")).toEqual({ uid: "Mg", token: "a.b" });
    for (const code of ["", "Mg", ".abc", "Mg."]) expect(partsOfCode(code)).toBeNull();
  });

  test("the mails open the frontend's own routes", () => {
    const links = authemailLinks("http://localhost:4200");
    expect(links({ kind: "activation", uid: "Mg", token: "t-1_x" })).toBe(
      "http://localhost:4200/email-verify?code=Mg.t-1_x",
    );
    expect(links({ kind: "password-reset", uid: "Mg", token: "t" })).toBe(
      "http://localhost:4200/new-password?code=Mg.t",
    );
    expect(links({ kind: "login" })).toBe("http://localhost:4200/login");
    expect(links({ kind: "forgot-password" })).toBe("http://localhost:4200/forgot-password");
  });

  test("slugs as Django's slugify, the id when nothing is left", () => {
    expect(slugOf({ id: 1, name: "Science Fiction" })).toBe("science-fiction");
    expect(slugOf({ id: 2, name: "  Crème Brûlée & Co.  " })).toBe("creme-brulee-co");
    expect(slugOf({ id: 3, name: "Sci - Fi" })).toBe("sci-fi");
    expect(slugOf({ id: 4, name: "アニメ" })).toBe("4");
  });
});
