// "5 minutes ago", "yesterday": how long ago something happened, as people say it; the absolute date
// stays beside it (formatDate, formatTime) for anyone who needs the exact moment.

const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

const STEPS: Array<{ unit: Intl.RelativeTimeFormatUnit; seconds: number; below: number }> = [
  { unit: "minute", seconds: 60, below: 3600 },
  { unit: "hour", seconds: 3600, below: 86_400 },
  { unit: "day", seconds: 86_400, below: 30 * 86_400 },
  { unit: "month", seconds: 30 * 86_400, below: 365 * 86_400 },
  { unit: "year", seconds: 365 * 86_400, below: Number.POSITIVE_INFINITY },
];

/** How long before `now` the moment `iso` was; a moment a little ahead (another clock) is "just now". */
export function timeAgo(iso: string, now: Date = new Date()): string {
  const seconds = (now.getTime() - new Date(iso).getTime()) / 1000;
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 45) return "just now";
  for (const step of STEPS) {
    if (seconds < step.below)
      return relative.format(-Math.max(1, Math.round(seconds / step.seconds)), step.unit);
  }
  return "";
}
