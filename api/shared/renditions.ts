// How a rendition appears in every answer that lists a video's ladder (admin and catalogue alike).
import { t } from "elysia";
import type { Rendition } from "../../contract/media.ts";
import type { Mp4Link } from "./progressive-mp4.ts";

export const RenditionBody = t.Object({
  name: t.String({ examples: ["720p"] }),
  width: t.Integer(),
  height: t.Integer(),
  bandwidth: t.Integer({ description: "Peak bits/s (HLS BANDWIDTH)" }),
});

/** A rendition a viewer can play: the HLS rung, and its progressive MP4 once it has one. */
export const PlayableRenditionBody = t.Object({
  ...RenditionBody.properties,
  mp4_url: t.Optional(
    t.String({
      format: "uri",
      description:
        "The rung as one progressive MP4 (index first, byte ranges), signed for MEDIA_MP4_TOKEN_TTL; add `&download=1` for `Content-Disposition: attachment`. Absent for a video transcoded before MP4s were made.",
    }),
  ),
  size: t.Optional(t.Integer({ description: "Bytes of the MP4" })),
});

export const presentRenditions = (renditions: readonly Rendition[]): Array<typeof RenditionBody.static> =>
  renditions.map(({ name, width, height, bandwidth }) => ({ name, width, height, bandwidth }));

/** The renditions with the MP4 links of `mp4UrlsOf` (progressive-mp4.ts) joined by rung name. */
export function presentPlayableRenditions(
  renditions: readonly Rendition[],
  mp4s: readonly Mp4Link[],
): Array<typeof PlayableRenditionBody.static> {
  const byName = new Map(mp4s.map((mp4) => [mp4.name, mp4]));
  return presentRenditions(renditions).map((rendition) => {
    const mp4 = byName.get(rendition.name);
    return mp4 ? { ...rendition, mp4_url: mp4.url, size: mp4.size } : rendition;
  });
}

/** `720p` → 720; a rendition named otherwise counts by its short side. */
export function nominalHeight(rendition: { name: string; width: number; height: number }): number {
  const named = /^(\d{2,5})p$/.exec(rendition.name);
  return named ? Number(named[1]) : Math.min(rendition.width, rendition.height);
}
