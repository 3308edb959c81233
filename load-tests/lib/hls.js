// Just enough HLS for a player: the variants of a master playlist and the segments of a media
// playlist (RFC 8216), with their URIs resolved the way a browser resolves relative links. k6 has no
// URL class, hence resolveUri.

/** Resolves a playlist URI against the playlist's own URL (absolute, root-relative or relative). */
export function resolveUri(base, uri) {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) return uri;
  const origin = base.match(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]+/i)[0];
  if (uri.startsWith("//")) return `${base.slice(0, base.indexOf(":") + 1)}${uri}`;
  if (uri.startsWith("/")) return `${origin}${uri}`;
  const path = base.slice(origin.length).replace(/[?#].*$/, "");
  const dir = path.slice(0, path.lastIndexOf("/") + 1) || "/";
  const segments = [];
  for (const part of `${dir}${uri.replace(/[?#].*$/, "")}`.split("/")) {
    if (part === "..") segments.pop();
    else if (part !== ".") segments.push(part);
  }
  const query = uri.match(/[?#].*$/);
  return `${origin}${segments.join("/")}${query ? query[0] : ""}`;
}

/** `KEY=value,KEY="quoted, value"` → { KEY: "value", … } */
function attributes(list) {
  const out = {};
  const pattern = /([A-Z0-9-]+)=("[^"]*"|[^,]*)/g;
  let match = pattern.exec(list);
  while (match !== null) {
    out[match[1]] = match[2].replace(/^"|"$/g, "");
    match = pattern.exec(list);
  }
  return out;
}

/** The variant streams of a master playlist, lowest BANDWIDTH first. */
export function parseMaster(text, url) {
  if (!text?.startsWith("#EXTM3U")) throw new Error("not an HLS playlist");
  const lines = text.split(/\r?\n/);
  const variants = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith("#EXT-X-STREAM-INF:")) continue;
    const attrs = attributes(lines[i].slice("#EXT-X-STREAM-INF:".length));
    let uri = lines[++i];
    while (uri !== undefined && (uri.trim() === "" || uri.startsWith("#"))) uri = lines[++i];
    if (uri === undefined) break;
    const [width, height] = (attrs.RESOLUTION || "0x0").split("x").map(Number);
    variants.push({
      bandwidth: Number(attrs.BANDWIDTH),
      averageBandwidth: Number(attrs["AVERAGE-BANDWIDTH"] || attrs.BANDWIDTH),
      width,
      height,
      name: `${height}p`,
      codecs: attrs.CODECS || "",
      url: resolveUri(url, uri.trim()),
    });
  }
  if (variants.length === 0) throw new Error("master playlist without variants");
  return variants.sort((a, b) => a.bandwidth - b.bandwidth);
}

/** The segments of a VOD media playlist, with their durations and absolute URLs. */
export function parseMedia(text, url) {
  if (!text?.startsWith("#EXTM3U")) throw new Error("not an HLS playlist");
  const segments = [];
  let targetDuration = 0;
  let init = null;
  let duration = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("#EXT-X-TARGETDURATION:")) targetDuration = Number(line.split(":")[1]);
    else if (line.startsWith("#EXT-X-MAP:")) {
      init = resolveUri(url, attributes(line.slice("#EXT-X-MAP:".length)).URI);
    } else if (line.startsWith("#EXTINF:")) duration = Number.parseFloat(line.slice(8));
    else if (line !== "" && !line.startsWith("#") && duration !== null) {
      segments.push({ duration, url: resolveUri(url, line) });
      duration = null;
    }
  }
  if (segments.length === 0) throw new Error("media playlist without segments");
  return {
    targetDuration,
    init,
    segments,
    totalSeconds: segments.reduce((sum, s) => sum + s.duration, 0),
  };
}
