// Settings every script reads from the environment (`k6 run -e NAME=value` or the process environment),
// and the seed file `bun load-tests/seed.ts` writes. No absolute paths: the scripts also run in the
// grafana/k6 image with this folder mounted at /scripts.

export function envString(name, fallback) {
  const value = __ENV[name];
  return value === undefined || value === "" ? fallback : value;
}

export function envNumber(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number, got "${raw}"`);
  return value;
}

/** The api, or the nginx edge in front of it: everything (REST, playlists, segments, /api/ws) is under it. */
export const BASE_URL = envString("BASE_URL", "http://localhost:3000").replace(/\/+$/, "");

/** Sent as Origin on state-changing requests and the WebSocket upgrade when set (a browser's view). */
export const ORIGIN = envString("ORIGIN", "");

/**
 * Where the seed summary is. Relative paths resolve against the script's folder (k6's `open`), so the
 * default is the seed's default output, ./var/loadtest/seed.json at the repository root.
 */
export const SEED_FILE = envString("SEED_FILE", "../var/loadtest/seed.json");

/** The seed summary, parsed; call from a script's init context (k6 allows `open` only there). */
export function parseSeed(text) {
  const seed = JSON.parse(text);
  if (!Array.isArray(seed.viewers) || seed.viewers.length === 0)
    throw new Error(`${SEED_FILE} has no viewers: run bun load-tests/seed.ts first`);
  return seed;
}

/** The folder of SEED_FILE, for files the seed wrote beside it (the upload clip). */
export function besideSeed(name) {
  const slash = SEED_FILE.lastIndexOf("/");
  return slash < 0 ? name : `${SEED_FILE.slice(0, slash)}/${name}`;
}

/**
 * The VU load of a scenario: RAMP ("30s:10,2m:10,10s:0", duration:target pairs) makes it a
 * ramping-vus scenario; otherwise VUS constant for DURATION.
 */
export function vuScenario(exec, defaults, extra = {}) {
  const ramp = envString("RAMP", "");
  if (ramp) {
    const stages = ramp.split(",").map((stage) => {
      const [duration, target] = stage.split(":");
      if (!duration || target === undefined || !Number.isInteger(Number(target)))
        throw new Error(`RAMP must look like "30s:10,2m:10,10s:0", got "${ramp}"`);
      return { duration: duration.trim(), target: Number(target) };
    });
    const rampDown = extra.gracefulStop ? { gracefulRampDown: extra.gracefulStop } : {};
    return { executor: "ramping-vus", exec, startVUs: 0, stages, ...rampDown, ...extra };
  }
  return {
    executor: "constant-vus",
    exec,
    vus: envNumber("VUS", defaults.vus),
    duration: envString("DURATION", defaults.duration),
    ...extra,
  };
}

/** How long the VU scenario runs: the sum of the RAMP stages, or DURATION. */
export function scenarioDuration(fallback) {
  const ramp = envString("RAMP", "");
  if (!ramp) return envString("DURATION", fallback);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 };
  let seconds = 0;
  for (const stage of ramp.split(",")) {
    for (const [, amount, suffix] of stage.split(":")[0].matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
      seconds += Number(amount) * unit[suffix];
    }
  }
  return `${Math.ceil(seconds)}s`;
}

/** Trend statistics the summaries show (p99 is not among k6's defaults). */
export const TREND_STATS = ["avg", "min", "med", "p(90)", "p(95)", "p(99)", "max", "count"];

/** The allowed share of failed requests and messages (default 0.1%). */
export const MAX_ERROR_RATE = envNumber("MAX_ERROR_RATE", 0.001);

/**
 * A staircase of viewer levels in one run (LEVELS="250,500,750", the viewers at each step): VUs join
 * at JOIN_PER_SECOND up to the next level, which then holds for STEP_HOLD_SECONDS. Each VU tags its
 * metrics with the level in force (levelAt), so thresholds and figures can be read per level. Null
 * when LEVELS is not set.
 */
export function staircase() {
  const raw = envString("LEVELS", "");
  if (!raw) return null;
  const levels = raw.split(",").map((level) => Number(level.trim()));
  if (levels.some((level, i) => !Number.isInteger(level) || level <= (levels[i - 1] ?? 0)))
    throw new Error(`LEVELS must be rising whole numbers like "250,500,750", got "${raw}"`);
  const joinPerSecond = envNumber("JOIN_PER_SECOND", 25);
  const holdSeconds = envNumber("STEP_HOLD_SECONDS", 30);
  const stages = [];
  /** [level, end of its step in ms from the scenario's start] */
  const ends = [];
  const stepSeconds = [];
  let at = 0;
  levels.forEach((level, i) => {
    const joinSeconds = Math.max(1, Math.ceil((level - (levels[i - 1] ?? 0)) / joinPerSecond));
    stages.push(
      { duration: `${joinSeconds}s`, target: level },
      { duration: `${holdSeconds}s`, target: level },
    );
    stepSeconds.push(joinSeconds + holdSeconds);
    at += (joinSeconds + holdSeconds) * 1000;
    ends.push([level, at]);
  });
  return {
    levels,
    /** Each level's join + hold, in seconds (its figures per second divide by this). */
    stepSeconds,
    stages,
    totalMs: at,
    /** The level whose step (its join, then its hold) contains `ms` since the scenario started. */
    levelAt(ms) {
      for (const [level, end] of ends) if (ms < end) return level;
      return levels[levels.length - 1];
    },
  };
}
