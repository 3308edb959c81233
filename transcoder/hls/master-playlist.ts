// The master playlist, written from the verified renditions and read back before it is trusted.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify, types } from "hls-parser";
import type { Rendition } from "../../contract/media.ts";
import { MEDIA_PLAYLIST } from "../ffmpeg-args.ts";
import { parseStrictly } from "./strict-parse.ts";

export const MASTER_PLAYLIST = "master.m3u8";

/** The master playlist text for these renditions (in ladder order). */
export function buildMasterPlaylist(renditions: readonly Rendition[]): string {
  const master = new types.MasterPlaylist({
    independentSegments: true,
    variants: renditions.map(
      (rendition) =>
        new types.Variant({
          uri: `${rendition.name}/${MEDIA_PLAYLIST}`,
          isIFrameOnly: false,
          bandwidth: rendition.bandwidth,
          averageBandwidth: rendition.averageBandwidth,
          codecs: rendition.codecs,
          resolution: { width: rendition.width, height: rendition.height },
          frameRate: rendition.frameRate,
        }),
    ),
  });
  // hls-parser leaves the last line unterminated; playlists are line-oriented text files.
  const text = `${stringify(master).trimEnd()}\n`;
  verifyMasterPlaylist(text, renditions);
  return text;
}

/** Parses the master back and checks it lists exactly these renditions. */
export function verifyMasterPlaylist(text: string, renditions: readonly Rendition[]): void {
  const parsed = parseStrictly(text, "the master playlist");
  if (!parsed.isMasterPlaylist) throw new Error("the master playlist does not parse as a master playlist");
  const master = parsed as types.MasterPlaylist;
  if (!master.independentSegments) throw new Error("the master playlist lacks EXT-X-INDEPENDENT-SEGMENTS");
  if (master.variants.length !== renditions.length) throw new Error("the master playlist lost a rendition");
  master.variants.forEach((variant, i) => {
    const rendition = renditions[i]!;
    const same =
      variant.uri === `${rendition.name}/${MEDIA_PLAYLIST}` &&
      variant.bandwidth === rendition.bandwidth &&
      variant.averageBandwidth === rendition.averageBandwidth &&
      variant.codecs === rendition.codecs &&
      variant.resolution?.width === rendition.width &&
      variant.resolution?.height === rendition.height &&
      Math.abs((variant.frameRate ?? 0) - rendition.frameRate) < 0.001;
    if (!same)
      throw new Error(`the master playlist's entry for ${rendition.name} does not read back as written`);
  });
}

/** Writes `master.m3u8` into the output folder; returns its path relative to it. */
export async function writeMasterPlaylist(
  outputDir: string,
  renditions: readonly Rendition[],
): Promise<string> {
  await writeFile(join(outputDir, MASTER_PLAYLIST), buildMasterPlaylist(renditions));
  return MASTER_PLAYLIST;
}
