// A processing video's live progress: the stage, the percent and the time left, in a box of fixed size
// (the numbers use tabular figures) so that ticks never move anything around it.
import type { TranscodeProgress } from "../api/types.ts";
import { formatEta, stageLabel } from "../ui/format.ts";
import { ProgressTrack } from "../ui/progress-track.tsx";

export function ProgressBar({ progress, title }: { progress: TranscodeProgress; title: string }) {
  const percent = Math.max(0, Math.min(100, progress.percent));
  const stage = stageLabel(progress.stage);
  const eta = formatEta(progress.eta_seconds);
  return (
    <div className="progress">
      <ProgressTrack
        percent={percent}
        label={`Transcoding ${title}`}
        valueText={`${stage}, ${Math.round(percent)} percent, ${eta}`}
      />
      <div className="progress-caption">
        <span className="progress-stage">{stage}</span>
        <span className="progress-numbers">
          <span className="progress-percent">{Math.floor(percent)}%</span>
          <span className="progress-eta">{eta}</span>
        </span>
      </div>
    </div>
  );
}
