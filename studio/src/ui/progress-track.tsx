// The bar itself, shared by transcoding and upload progress: an accessible progressbar whose fill moves
// by a transform, not a width, so it runs on the compositor and never reflows what is around it.
/** `valueNow`: what assistive technology reads as the value (the percent, rounded, unless given). */
export function ProgressTrack(props: {
  percent: number;
  label: string;
  valueText: string;
  valueNow?: number;
}) {
  const percent = Math.max(0, Math.min(100, props.percent));
  return (
    <div
      className="progress-track"
      role="progressbar"
      aria-label={props.label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={props.valueNow ?? Math.round(percent)}
      aria-valuetext={props.valueText}
    >
      <div className="progress-fill" style={{ transform: `scaleX(${percent / 100})` }} />
    </div>
  );
}
