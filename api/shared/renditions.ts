// How a rendition appears in every answer that lists a video's ladder (admin and catalogue alike).
import { t } from "elysia";
import type { Rendition } from "../../contract/media.ts";

export const RenditionBody = t.Object({
  name: t.String({ examples: ["720p"] }),
  width: t.Integer(),
  height: t.Integer(),
  bandwidth: t.Integer({ description: "Peak bits/s (HLS BANDWIDTH)" }),
});

export const presentRenditions = (renditions: readonly Rendition[]): Array<typeof RenditionBody.static> =>
  renditions.map(({ name, width, height, bandwidth }) => ({ name, width, height, bandwidth }));
