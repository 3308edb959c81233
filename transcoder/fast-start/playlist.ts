// The fast-start media playlist: an EVENT playlist written by us, never copied from FFmpeg, so that it
// lists only segments that are already published whole. It only ever grows (a player reloading it must
// find every segment it saw before) and gets #EXT-X-ENDLIST when the pass is over.

/** One published segment. */
export interface PublishedSegment {
  uri: string;
  durationSeconds: number;
}

/** The segment names FFmpeg writes (SEGMENT_PATTERN), and nothing else. */
const SEGMENT_URI = /^seg_\d{5}\.ts$/;

/** Text of the EVENT playlist for these segments; `targetSeconds` stays the same for its whole life. */
export function eventPlaylist(
  segments: readonly PublishedSegment[],
  targetSeconds: number,
  ended: boolean,
): string {
  const lines = [
    "#EXTM3U",
    "#EXT-X-VERSION:3",
    `#EXT-X-TARGETDURATION:${targetSeconds}`,
    "#EXT-X-MEDIA-SEQUENCE:0",
    "#EXT-X-PLAYLIST-TYPE:EVENT",
    "#EXT-X-INDEPENDENT-SEGMENTS",
    // Players join an EVENT playlist at its live edge unless told otherwise: start at the beginning.
    "#EXT-X-START:TIME-OFFSET=0,PRECISE=YES",
  ];
  for (const segment of segments) {
    lines.push(`#EXTINF:${segment.durationSeconds.toFixed(6)},`, segment.uri);
  }
  if (ended) lines.push("#EXT-X-ENDLIST");
  return `${lines.join("\n")}\n`;
}

/**
 * The segments a media playlist lists, in order, and whether it has ended: FFmpeg's own (staged,
 * growing) playlist or one we published. Only whole entries count: an EXTINF followed by a segment
 * name of ours; a playlist read while it was being rewritten may end in half an entry.
 */
export function listedSegments(text: string): { segments: PublishedSegment[]; ended: boolean } {
  const segments: PublishedSegment[] = [];
  let duration: number | null = null;
  let ended = false;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#EXTINF:")) {
      const value = Number.parseFloat(line.slice("#EXTINF:".length));
      duration = Number.isFinite(value) && value > 0 ? value : null;
    } else if (line === "#EXT-X-ENDLIST") {
      ended = true;
    } else if (line !== "" && !line.startsWith("#")) {
      if (duration !== null && SEGMENT_URI.test(line))
        segments.push({ uri: line, durationSeconds: duration });
      duration = null;
    }
  }
  return { segments, ended };
}
