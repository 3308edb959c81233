// One attempt at a job: the claim BullMQ's lock token stands for. Its staging carries the job id and
// the token in its label, so a later attempt (a takeover after a lapsed lock) never touches it, and a
// sweep in any transcoder can tell a live attempt's staging (the job's lock still holds that token)
// from a dead one's.
import type { RunningJob } from "./heartbeat.ts";

/**
 * The folders an attempt stages: its outputs, (object storage) the downloaded source, and the
 * fast-start pass's encode (its segments are put into the fast-start prefix one by one from there).
 */
export type AttemptPart = "output" | "source" | "fast";

export interface AttemptRef {
  jobId: string;
  token: string;
}

const hex = (text: string) => Buffer.from(text, "utf8").toString("hex");
const unhex = (text: string) => Buffer.from(text, "hex").toString("utf8");
// Hex keeps any job id and token intact through the staging label's [A-Za-z0-9_-] alphabet.
const LABEL = /^attempt-([0-9a-f]+)-([0-9a-f]+)-(output|source|fast)$/;

export const attemptLabel = ({ jobId, token }: AttemptRef, part: AttemptPart) =>
  `attempt-${hex(jobId)}-${hex(token)}-${part}`;

/** The attempt a staging label belongs to, or null for any other label (uploads, older versions). */
export function attemptOfLabel(label: string): (AttemptRef & { part: AttemptPart }) | null {
  const match = LABEL.exec(label);
  if (!match) return null;
  return { jobId: unhex(match[1]!), token: unhex(match[2]!), part: match[3] as AttemptPart };
}

/** Thrown when this worker no longer holds the job: another attempt owns its outcome now. */
export class LockLostError extends Error {
  constructor(readonly jobId: string) {
    super(`lost the lock of job ${jobId}: another attempt holds it now`);
    this.name = "LockLostError";
  }
}

/** An attempt this worker runs now: a film's job or one of its pieces. */
export interface RunningAttempt {
  /** What the heartbeat says about it. */
  job: RunningJob;
  controller: AbortController;
  /** Set once the lock is known to be gone: nothing of this attempt may be published or reported. */
  lost: boolean;
  /** Resolved when the lock is known to be gone: ends a wait on Redis that would never answer in time. */
  lostNotice: PromiseWithResolvers<void>;
  /** Its staging folders, so the sweeps never take them while it runs. */
  staging: Set<string>;
}
