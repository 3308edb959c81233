// ffprobe from the tests' side: what a rendition's files really hold.
import { join } from "node:path";
import { parse, type types } from "hls-parser";
import { runProcess } from "../../transcoder/ffmpeg-process.ts";

export interface ProbedStream {
  codec_type: string;
  codec_name: string;
  profile?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  field_order?: string;
  avg_frame_rate?: string;
  channels?: number;
  sample_rate?: string;
}

async function ffprobeJson<T>(args: string[]): Promise<T> {
  const result = await runProcess(["ffprobe", "-v", "error", "-print_format", "json", ...args], {
    timeoutMs: 30_000,
  });
  if (result.exitCode !== 0) throw new Error(`ffprobe ${args.join(" ")}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

export async function streamsOf(path: string): Promise<ProbedStream[]> {
  return (await ffprobeJson<{ streams: ProbedStream[] }>(["-show_streams", path])).streams;
}

/** Video packets in file order, with their presentation time and whether they are keyframes. */
export async function videoPackets(path: string): Promise<{ pts: number; key: boolean }[]> {
  const { packets } = await ffprobeJson<{ packets: { pts_time: string; flags: string }[] }>([
    ...["-select_streams", "v:0", "-show_entries", "packet=pts_time,flags", path],
  ]);
  return packets.map((packet) => ({ pts: Number(packet.pts_time), key: packet.flags.startsWith("K") }));
}

export async function mediaPlaylist(outputDir: string, name: string): Promise<types.MediaPlaylist> {
  const text = await Bun.file(join(outputDir, name, "index.m3u8")).text();
  return parse(text) as types.MediaPlaylist;
}

export async function masterPlaylist(outputDir: string): Promise<types.MasterPlaylist> {
  return parse(await Bun.file(join(outputDir, "master.m3u8")).text()) as types.MasterPlaylist;
}
