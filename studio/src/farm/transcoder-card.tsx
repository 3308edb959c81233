// One transcoder: its name and host, CPU or GPU, uptime and the age of its last heartbeat, and a slot
// per job it may run at once (its concurrency), each either the running job with its live bar or idle.
// The slots and the note are always there, so a job starting or ending, or the transcoder going quiet,
// never changes the card's size. A quiet one (no heartbeat for 15 s) says so and shows what it was
// running when it went silent; one listed online whose heartbeat has aged past that mark since the
// read, or that the page could not read again, is "unconfirmed" until the next read says which.
import { useId } from "react";
import type { FarmJob, FarmTranscoder, TranscodeProgress } from "../api/types.ts";
import { ProgressBar } from "../library/progress-bar.tsx";
import { encoderLabel, formatAge, formatUptime, transcoderStatus } from "./farm-format.ts";

/** What a job shows before its first tick has been read. */
const NO_TICK_YET: TranscodeProgress = { percent: 0, stage: "processing", eta_seconds: null };

const BADGES = {
  online: { label: "Online", className: "badge-ready" },
  unconfirmed: { label: "Unconfirmed", className: "badge-pending" },
  quiet: { label: "Quiet", className: "badge-pending" },
} as const;

const NOTES = {
  online: "Heartbeats every 5 s; listed as quiet after 15 s without one.",
  unconfirmed:
    "No heartbeat seen for over 15 s, or the farm could not be read again: waiting for a fresh read.",
  quiet:
    "No heartbeat for over 15 s: crashed or cut off? A job it held goes back to the queue once its lock lapses.",
} as const;

function JobSlot({ job, quiet }: { job: FarmJob | undefined; quiet: boolean }) {
  if (!job) {
    return (
      <li className="job-slot job-slot-idle">
        <span className="muted">{quiet ? "Idle when last heard from" : "Idle, waiting for a job"}</span>
      </li>
    );
  }
  const title = job.title ?? `Video ${job.video_id} (deleted)`;
  return (
    <li className="job-slot" data-job-id={job.job_id}>
      <div className="job-line">
        {quiet && <span className="job-was">Was running</span>}
        {job.title === null ? (
          <span className="job-title">{title}</span>
        ) : (
          <a className="job-title" href={`/studio/videos/${job.video_id}`}>
            {title}
          </a>
        )}
        <span className="job-attempt">try {job.attempt}</span>
      </div>
      {quiet ? (
        // In the bar's place (same height): where it was when its transcoder went silent.
        <p className="job-last-heard">
          {job.progress
            ? `Last heard at ${Math.floor(job.progress.percent)} % (${job.progress.stage})`
            : "Its progress when it went silent is not known"}
        </p>
      ) : (
        <ProgressBar progress={job.progress ?? NO_TICK_YET} title={title} />
      )}
    </li>
  );
}

export function TranscoderCard({
  transcoder,
  quiet,
  secondsSinceRead,
  refreshFailed,
}: {
  transcoder: FarmTranscoder;
  quiet: boolean;
  /** Since the farm was read: the ages shown count on by it. */
  secondsSinceRead: number;
  /** The latest read of the farm failed: what is shown may be old. */
  refreshFailed: boolean;
}) {
  const encoder = encoderLabel(transcoder);
  const age = transcoder.last_seen_seconds_ago + secondsSinceRead;
  // A quiet one's uptime ended with its last heartbeat.
  const uptime = transcoder.uptime_seconds + (quiet ? 0 : secondsSinceRead);
  const status = transcoderStatus(quiet, age, refreshFailed);
  // Every slot, idle or not, online or quiet: going quiet changes what they say, not how many there are.
  const slots = Math.max(transcoder.concurrency, transcoder.jobs.length);
  const headingId = useId();
  return (
    <li
      className={`transcoder${quiet ? " transcoder-quiet" : ""}`}
      data-transcoder={transcoder.name}
      data-quiet={quiet}
      data-status={status}
      aria-labelledby={headingId}
    >
      <div className="transcoder-head">
        <div className="transcoder-who">
          <h3 className="transcoder-name" id={headingId}>
            {transcoder.name}
          </h3>
          <p className="transcoder-host" title={`${transcoder.host}, process ${transcoder.pid}`}>
            {transcoder.host} · pid {transcoder.pid}
          </p>
        </div>
        <span className={`badge ${BADGES[status].className}`}>{BADGES[status].label}</span>
      </div>
      <dl className="transcoder-facts">
        <div>
          <dt>Encoder</dt>
          <dd>
            <span className={`kind kind-${encoder.kind.toLowerCase()}`}>{encoder.kind}</span>{" "}
            <span className="transcoder-encoder">{encoder.detail}</span>
          </dd>
        </div>
        <div>
          <dt>{quiet ? "Ran for" : "Uptime"}</dt>
          <dd className="figure">{formatUptime(uptime)}</dd>
        </div>
        <div>
          <dt>Heartbeat</dt>
          <dd className={`figure${status === "online" ? "" : " figure-warning"}`}>{formatAge(age)}</dd>
        </div>
      </dl>
      <p className={`transcoder-note transcoder-note-${status}`}>{NOTES[status]}</p>
      {slots > 0 && (
        <ul className="job-slots" aria-label={`Jobs of ${transcoder.name}`}>
          {Array.from({ length: slots }, (_, slot) => (
            <JobSlot
              key={transcoder.jobs[slot]?.job_id ?? `idle-${slot}`}
              job={transcoder.jobs[slot]}
              quiet={quiet}
            />
          ))}
        </ul>
      )}
    </li>
  );
}
