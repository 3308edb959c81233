// The video played in the page with hls.js (bundled, no CDN): the master playlist of the published
// revision, a rendition picker (Auto and each rung), and each rung's bandwidth as the master playlist
// states it (BANDWIDTH is the measured peak, AVERAGE-BANDWIDTH the mean, both written by the transcoder).
import Hls, { type Level } from "hls.js";
import { useEffect, useId, useRef, useState } from "react";
import { formatBitrate } from "../ui/format.ts";

export interface Rung {
  index: number;
  name: string;
  height: number;
  peakBitsPerSecond: number;
  averageBitsPerSecond: number | null;
}

type PlayerState =
  | { status: "loading" }
  | { status: "ready"; rungs: Rung[] }
  | { status: "error"; message: string };

const AUTO = -1;

function rungOf(level: Level, index: number): Rung {
  const average = Number(level.attrs["AVERAGE-BANDWIDTH"]);
  return {
    index,
    name: level.name || `${level.height}p`,
    height: level.height,
    peakBitsPerSecond: level.bitrate,
    averageBitsPerSecond: Number.isFinite(average) && average > 0 ? average : null,
  };
}

export function Player({
  masterUrl,
  posterUrl,
  title,
}: {
  masterUrl: string;
  posterUrl: string | null;
  title: string;
}) {
  const videoRef = useRef<HTMLVideoElement>(null);
  const hlsRef = useRef<Hls | null>(null);
  const [state, setState] = useState<PlayerState>({ status: "loading" });
  const [choice, setChoice] = useState(AUTO);
  const [playing, setPlaying] = useState<number | null>(null);
  const pickerId = useId();

  useEffect(() => {
    const media = videoRef.current;
    if (!media) return;
    setState({ status: "loading" });
    setChoice(AUTO);
    setPlaying(null);
    if (!Hls.isSupported()) {
      setState({ status: "error", message: "This browser cannot play HLS with Media Source Extensions." });
      return;
    }
    const hls = new Hls({ capLevelToPlayerSize: false });
    hlsRef.current = hls;
    // The page reads the player's state in tests and in the console; nothing in the studio depends on it.
    (media as HTMLVideoElement & { hls?: Hls }).hls = hls;
    hls.on(Hls.Events.MANIFEST_PARSED, (_event, data) => {
      setState({ status: "ready", rungs: data.levels.map(rungOf) });
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => setPlaying(data.level));
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) setState({ status: "error", message: `The video cannot be played (${data.details}).` });
    });
    hls.loadSource(masterUrl);
    hls.attachMedia(media);
    return () => {
      hls.destroy();
      hlsRef.current = null;
    };
  }, [masterUrl]);

  const pick = (level: number) => {
    setChoice(level);
    const hls = hlsRef.current;
    if (!hls) return;
    // currentLevel switches now (flushing the buffer); -1 hands the choice back to the bandwidth estimate.
    hls.currentLevel = level;
  };

  const rungs = state.status === "ready" ? [...state.rungs].sort((a, b) => b.height - a.height) : [];
  const playingRung = rungs.find((rung) => rung.index === playing);
  return (
    <section className="panel player" aria-labelledby={`${pickerId}-title`}>
      <h2 className="panel-title" id={`${pickerId}-title`}>
        Preview
      </h2>
      <div className="player-frame">
        {/* biome-ignore lint/a11y/useMediaCaption: the studio's previews have no caption tracks to offer */}
        <video
          ref={videoRef}
          className="player-video"
          controls
          playsInline
          poster={posterUrl ?? undefined}
          aria-label={`Preview of ${title}`}
        />
        {state.status === "error" && (
          <p className="player-error" role="alert">
            {state.message}
          </p>
        )}
      </div>
      <div className="player-controls">
        <fieldset className="rung-picker" disabled={state.status !== "ready"}>
          <legend>Rendition</legend>
          <label className={`rung-option${choice === AUTO ? " rung-option-on" : ""}`}>
            <input
              type="radio"
              name={pickerId}
              value="auto"
              checked={choice === AUTO}
              onChange={() => pick(AUTO)}
            />
            <span className="rung-name">Auto</span>
            <span className="rung-rate">by bandwidth</span>
          </label>
          {rungs.map((rung) => (
            <label
              key={rung.index}
              className={`rung-option${choice === rung.index ? " rung-option-on" : ""}`}
            >
              <input
                type="radio"
                name={pickerId}
                value={rung.name}
                checked={choice === rung.index}
                onChange={() => pick(rung.index)}
              />
              <span className="rung-name">{rung.name}</span>
              <span className="rung-rate">
                {formatBitrate(rung.averageBitsPerSecond ?? rung.peakBitsPerSecond)}
                {rung.averageBitsPerSecond !== null && (
                  <span className="muted"> · peak {formatBitrate(rung.peakBitsPerSecond)}</span>
                )}
              </span>
            </label>
          ))}
        </fieldset>
        <p className="player-now" aria-live="polite">
          {state.status === "loading"
            ? "Opening the master playlist…"
            : playingRung
              ? `Playing ${playingRung.name}${choice === AUTO ? " (chosen automatically)" : ""}`
              : "Press play to start"}
        </p>
      </div>
    </section>
  );
}
