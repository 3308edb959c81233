// The 1× player of `bun run bench:playable`: an emulation of hls.js's defaults at real-time pace
// (fetch segments in order up to 30 s ahead, reload a playlist without ENDLIST every target duration,
// play while there is buffer). It starts when the first segment is in and counts rebuffers to the end.

export interface PlayerRun {
  rebuffers: number;
  stalledSeconds: number;
  playedSeconds: number;
}

const MAX_BUFFER_SECONDS = 30;
const TICK_MS = 100;

interface Listed {
  uri: string;
  durationSeconds: number;
}

function parse(text: string): { segments: Listed[]; ended: boolean; target: number } {
  const segments: Listed[] = [];
  let duration = 0;
  for (const line of text.split("\n").map((raw) => raw.trim())) {
    if (line.startsWith("#EXTINF:")) duration = Number.parseFloat(line.slice(8));
    else if (line && !line.startsWith("#")) segments.push({ uri: line, durationSeconds: duration });
  }
  const target = Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(text)?.[1] ?? 6);
  return { segments, ended: text.includes("#EXT-X-ENDLIST"), target };
}

/**
 * Plays the media playlist at `mediaUrl` (segment URIs relative to `segmentBase`) at 1×; `get` fetches
 * with the viewer's credentials. Resolves once the playhead reaches the end.
 */
export async function playAtRealTime(options: {
  mediaUrl: string;
  segmentBase: string;
  get: (url: string) => Promise<Response>;
}): Promise<PlayerRun> {
  let listed: Listed[] = [];
  let ended = false;
  let target = 6;
  const reload = async () => {
    const response = await options.get(options.mediaUrl);
    if (response.status !== 200) throw new Error(`media playlist: ${response.status}`);
    ({ segments: listed, ended, target } = parse(await response.text()));
  };
  await reload();
  let bufferedUntil = 0;
  let downloaded = 0;
  let playhead = 0;
  let playing = false;
  let rebuffers = 0;
  let stalledSeconds = 0;
  let finished = false;

  const reloader = (async () => {
    while (!ended && !finished) {
      await Bun.sleep(target * 1000);
      await reload();
    }
  })();
  const downloader = (async () => {
    while (!finished) {
      const next = listed[downloaded];
      if (!next || bufferedUntil - playhead >= MAX_BUFFER_SECONDS) {
        if (ended && downloaded >= listed.length) return;
        await Bun.sleep(TICK_MS);
        continue;
      }
      const response = await options.get(new URL(next.uri, options.segmentBase).href);
      if (response.status !== 200) throw new Error(`segment ${next.uri}: ${response.status}`);
      await response.arrayBuffer();
      bufferedUntil += next.durationSeconds;
      downloaded += 1;
    }
  })();

  let last = performance.now();
  while (!(ended && downloaded >= listed.length && playhead >= bufferedUntil - 0.01)) {
    await Bun.sleep(TICK_MS);
    const now = performance.now();
    const step = (now - last) / 1000;
    last = now;
    if (!playing && bufferedUntil > 0) playing = true;
    if (!playing) continue;
    if (playhead + step <= bufferedUntil) {
      playhead += step;
    } else {
      const stalledBefore = playhead >= bufferedUntil - 0.01;
      playhead = bufferedUntil;
      if (!(ended && downloaded >= listed.length)) {
        if (!stalledBefore) rebuffers += 1;
        stalledSeconds += step;
      }
    }
  }
  finished = true;
  await Promise.all([reloader, downloader]);
  return { rebuffers, stalledSeconds, playedSeconds: playhead };
}
