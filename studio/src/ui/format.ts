// How the studio writes durations, dates, sizes and transcoding stages for people.

const STAGE_LABELS: Record<string, string> = {
  queued: "Queued",
  downloading: "Fetching source",
  probing: "Inspecting source",
  "fast-start": "Quick preview",
  encoding: "Encoding",
  verifying: "Verifying",
  remuxing: "Making downloads",
  thumbnails: "Making posters",
  uploading: "Uploading outputs",
  publishing: "Publishing",
  done: "Done",
  failed: "Failed",
};

export const stageLabel = (stage: string): string =>
  STAGE_LABELS[stage] ?? stage.charAt(0).toUpperCase() + stage.slice(1).replace(/-/g, " ");

/** 5:07, 1:02:03; "—" when unknown. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "—";
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** "about 40 s left", "about 3 min left"; empty while no estimate exists yet. */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return "estimating…";
  if (seconds < 60) return `about ${Math.max(1, Math.round(seconds))} s left`;
  if (seconds < 3600) return `about ${Math.round(seconds / 60)} min left`;
  return `about ${(seconds / 3600).toFixed(1)} h left`;
}

const dateFormat = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric" });
const timeFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit" });

export const formatDate = (iso: string): string => dateFormat.format(new Date(iso));
export const formatTime = (iso: string): string => timeFormat.format(new Date(iso));

/** Renditions by height, highest first: "1080p · 720p". */
export function formatRenditions(renditions: Array<{ name: string; height: number }>): string[] {
  return [...renditions].sort((a, b) => b.height - a.height).map((rendition) => rendition.name);
}

/** 1.8 Mbit/s, 640 kbit/s: a rung's bandwidth as the master playlist states it. */
export function formatBitrate(bitsPerSecond: number): string {
  if (bitsPerSecond >= 1_000_000) return `${(bitsPerSecond / 1_000_000).toFixed(1)} Mbit/s`;
  return `${Math.max(1, Math.round(bitsPerSecond / 1000))} kbit/s`;
}

const BYTE_UNITS = ["B", "KB", "MB", "GB", "TB"];

/** 812 KB, 7.4 MB, 1.3 GB (decimal units, as file managers show them). */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

/** "4.2 MB/s"; empty while no rate is known yet. */
export const formatRate = (bytesPerSecond: number | null): string =>
  bytesPerSecond === null ? "" : `${formatBytes(bytesPerSecond)}/s`;
