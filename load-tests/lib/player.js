// The parts of an adaptive HLS player that decide what a viewer experiences: a throughput estimate,
// rung selection, and a playback clock that drains the forward buffer in real time and notices stalls.
// Modelled on hls.js (dual EWMA, conservative up-switch, emergency down-switch on a low buffer).
import { envNumber } from "./config.js";

export const ABR = {
  /** Estimate before the first segment has been measured (hls.js: abrEwmaDefaultEstimate). */
  startBps: envNumber("ABR_START_BPS", 1_000_000),
  /** Up-switch when estimate × this exceeds the next rung's BANDWIDTH. */
  upSafety: envNumber("ABR_UP_SAFETY", 0.7),
  /** Down-switch when estimate × this falls below the current rung's BANDWIDTH. */
  downSafety: envNumber("ABR_DOWN_SAFETY", 0.95),
  fastHalfLife: envNumber("ABR_FAST_HALF_LIFE", 3),
  slowHalfLife: envNumber("ABR_SLOW_HALF_LIFE", 9),
  /** Cap on the rung height (e.g. 480 for a small-screen client); 0 = none. */
  maxHeight: envNumber("ABR_MAX_HEIGHT", 0),
};

/** An exponentially weighted moving average whose weights are seconds of download (hls.js's EWMA). */
class Ewma {
  constructor(halfLife) {
    this.alpha = Math.exp(Math.log(0.5) / halfLife);
    this.estimate = 0;
    this.totalWeight = 0;
  }

  sample(weight, value) {
    const adjusted = this.alpha ** weight;
    this.estimate = value * (1 - adjusted) + adjusted * this.estimate;
    this.totalWeight += weight;
  }

  value() {
    // Corrects the zero start's bias while few samples are in.
    const zeroFactor = 1 - this.alpha ** this.totalWeight;
    return zeroFactor ? this.estimate / zeroFactor : this.estimate;
  }
}

/** Throughput estimate in bits/s: the lower of a fast and a slow average (quick to drop, slow to rise). */
export class BandwidthEstimator {
  constructor() {
    this.fast = new Ewma(ABR.fastHalfLife);
    this.slow = new Ewma(ABR.slowHalfLife);
    this.samples = 0;
  }

  sample(bytes, milliseconds) {
    // Loopback downloads take well under a millisecond; 1 ms keeps the figure finite.
    const seconds = Math.max(milliseconds, 1) / 1000;
    const bps = (bytes * 8) / seconds;
    this.fast.sample(seconds, bps);
    this.slow.sample(seconds, bps);
    this.samples++;
  }

  bps() {
    return this.samples === 0 ? ABR.startBps : Math.min(this.fast.value(), this.slow.value());
  }
}

/**
 * Index of the rung to fetch the next segment from; `variants` are sorted by BANDWIDTH, lowest first.
 * Down at once when the next segment would arrive after the buffer runs dry (emergency switch) or the
 * estimate no longer carries the rung; up one rung at a time, only with a segment's worth of buffer.
 */
export function chooseRung(variants, current, estimateBps, bufferSeconds, playing, segmentSeconds) {
  const top = topRung(variants);
  const fits = (index) => variants[index].bandwidth <= estimateBps * ABR.upSafety;
  const bestFitting = () => {
    let index = 0;
    for (let i = 0; i <= top; i++) if (fits(i)) index = i;
    return index;
  };
  if (current < 0) return bestFitting();
  const fetchSeconds = (index) => (variants[index].bandwidth * segmentSeconds) / estimateBps;
  if (playing && current > 0 && fetchSeconds(current) > bufferSeconds * 0.8) {
    let index = 0;
    for (let i = current - 1; i > 0 && index === 0; i--) if (fetchSeconds(i) < bufferSeconds * 0.8) index = i;
    return index;
  }
  if (current > 0 && estimateBps * ABR.downSafety < variants[current].bandwidth)
    return Math.min(current - 1, bestFitting());
  if (current < top && fits(current + 1) && bufferSeconds >= segmentSeconds) return current + 1;
  return Math.min(current, top);
}

function topRung(variants) {
  if (!ABR.maxHeight) return variants.length - 1;
  let top = 0;
  for (let i = 0; i < variants.length; i++) if (variants[i].height <= ABR.maxHeight) top = i;
  return top;
}

/**
 * Media time versus wall time. The playhead moves at 1× while media is buffered ahead of it; when it
 * catches up with the buffered end the player stalls (a rebuffer) until the next segment arrives.
 */
export class PlaybackClock {
  constructor() {
    this.playing = false;
    this.position = 0; // seconds of media played
    this.bufferedEnd = 0; // seconds of media downloaded
    this.lastUpdate = 0;
    this.stalled = false;
    this.stallEvents = 0;
    this.stalledSeconds = 0;
  }

  start(nowMs) {
    this.playing = true;
    this.lastUpdate = nowMs;
  }

  /**
   * Moves the playhead to wall time `nowMs`; returns true when a stall began in this interval. With
   * `endOfStream` (every segment is buffered) reaching the buffered end is the end, not a stall.
   */
  advance(nowMs, endOfStream = false) {
    if (!this.playing) return false;
    const elapsed = (nowMs - this.lastUpdate) / 1000;
    this.lastUpdate = nowMs;
    const available = this.bufferedEnd - this.position;
    if (elapsed <= available || endOfStream) {
      this.position = Math.min(this.position + elapsed, this.bufferedEnd);
      return false;
    }
    this.position = this.bufferedEnd;
    this.stalledSeconds += elapsed - Math.max(available, 0);
    if (this.stalled) return false;
    this.stalled = true;
    this.stallEvents++;
    return true;
  }

  /** A segment arrived: media up to `end` seconds is buffered, and a stall (if any) is over. */
  bufferTo(end) {
    this.bufferedEnd = Math.max(this.bufferedEnd, end);
    this.stalled = false;
  }

  ahead() {
    return this.bufferedEnd - this.position;
  }
}
