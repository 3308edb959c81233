import { Elysia } from "elysia";
import { playbackTarget } from "./model.ts";
import type { PlaybackService } from "./service.ts";

const detail = (summary: string, description: string) => ({ tags: ["Playback"], summary, description });
const credentials =
  "Needs the session cookie or a signed `token` query parameter (as written into the playlists the api serves): 401 without either, 403 for a tampered or expired token, 404 for a video that is not listed.";

/**
 * HLS playback at the Videoflix paths: master and media playlists, segments, thumbnails and
 * storyboards of listed videos (see PlaybackService for who may fetch what).
 */
export function playbackRoutes(deps: { services: { playback: PlaybackService } }) {
  const { playback } = deps.services;
  return new Elysia({ name: "playback" })
    .get(
      "/api/video/:id/master.m3u8",
      ({ request, params, query }) =>
        playback.serve(request, playbackTarget(params.id, null, "master.m3u8", query.v), query.token),
      {
        detail: detail(
          "Master playlist",
          `Every rung of the published ladder; every URI carries \`v\` (the revision) and a signed \`token\`. While a video is only playable (still \`processing\`), its one fast-start rung, with \`v=<revision>-fast\` and \`Cache-Control: max-age=1\` (its media playlist is an EVENT playlist that grows). ${credentials}`,
        ),
      },
    )
    .get(
      "/api/video/:id/:res/:file",
      ({ request, params, query }) =>
        playback.serve(
          request,
          {
            ...playbackTarget(params.id, params.res, params.file, query.v),
            download: query.download === "1",
          },
          query.token,
        ),
      {
        detail: detail(
          "Media playlist, segment, progressive MP4, thumbnail or storyboard",
          `\`res\` is a rung such as \`720p\` (a missing rung is served by the nearest lower one) or \`thumbnails\` (posters and storyboard, public). \`progressive.mp4\` is the rung as one MP4 (the catalogue's \`renditions[].mp4_url\`); \`download=1\` sends it as an attachment. Byte ranges (206, 416 past the end), ETag/If-None-Match. A trailing slash is accepted. ${credentials}`,
        ),
      },
    );
}
