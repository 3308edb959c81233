// One transcoder: its name and host, CPU or GPU, uptime and the age of its last heartbeat, and a slot
// per job it may run at once (its concurrency), each either the running job with its live bar or idle.
// The slots are always there, so a job starting or ending never changes the card's size. A quiet one
// (no heartbeat for 15 s) says so and shows what it was running when it went silent.
import type { FarmJob, FarmTranscoder, TranscodeProgress } from "../api/types.ts";
import { ProgressBar } from "../library/progress-bar.tsx";
import { encoderLabel, formatAge, formatUptime } from "./farm-format.ts";

/** What a job shows before its first tick has been read. */
const NO_TICK_YET: TranscodeProgress = { percent: 0, stage: "processing", eta_seconds: null };

function JobSlot({ job, quiet }: { job: FarmJob | undefined; quiet: boolean }) {
  if (!job) {
    return (
      <li className="job-slot job-slot-idle">
        <span className="muted">Idle, waiting for a job</span>
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
      {!quiet && <ProgressBar progress={job.progress ?? NO_TICK_YET} title={title} />}
    </li>
  );
}

export function TranscoderCard({
  transcoder,
  quiet,
  secondsSinceRead,
}: {
  transcoder: FarmTranscoder;
  quiet: boolean;
  /** Since the farm was read: the ages shown count on by it. */
  secondsSinceRead: number;
}) {
  const encoder = encoderLabel(transcoder);
  const age = transcoder.last_seen_seconds_ago + secondsSinceRead;
  // A quiet one's uptime ended with its last heartbeat.
  const uptime = transcoder.uptime_seconds + (quiet ? 0 : secondsSinceRead);
  // A quiet one's slots show only what it was running; an online one's all, idle or not.
  const slots = quiet ? transcoder.jobs.length : Math.max(transcoder.concurrency, transcoder.jobs.length);
  const headingId = `transcoder-${transcoder.name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  return (
    <li
      className={`transcoder${quiet ? " transcoder-quiet" : ""}`}
      data-transcoder={transcoder.name}
      data-quiet={quiet}
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
        <span className={`badge ${quiet ? "badge-pending" : "badge-ready"}`}>
          {quiet ? "Quiet" : "Online"}
        </span>
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
          <dd className={`figure${quiet ? " figure-warning" : ""}`}>{formatAge(age)}</dd>
        </div>
      </dl>
      {quiet && (
        <p className="transcoder-note">
          No heartbeat for over 15 s: it may have crashed or lost its connection. A job it held goes back to
          the queue once its lock lapses.
        </p>
      )}
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
