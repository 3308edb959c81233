// The video page (/studio/videos/:id): play it, edit its details, replace its file, see what the
// transcoder made and the job's history, delete it. Loading, error, not-found and deleted states each
// have their own designed card; the layout keeps its place while progress ticks arrive.
import "./video-page.css";
import { useEffect, useState } from "react";
import type { ApiClient } from "../api/http.ts";
import type { FeedStatus } from "../api/realtime.ts";
import type { AdminCategory } from "../api/types.ts";
import { StateBadge } from "../library/video-row.tsx";
import { formatDate, formatDuration, formatTime } from "../ui/format.ts";
import { DeleteVideo } from "./delete-dialog.tsx";
import { JobHistory } from "./job-history.tsx";
import { MediaPanel } from "./media-panel.tsx";
import { MetadataForm } from "./metadata-form.tsx";
import { Player } from "./player.tsx";
import { ReplaceFile } from "./replace-file.tsx";
import { useVideo } from "./use-video.ts";

const FEED_LABELS: Record<FeedStatus, string> = {
  connecting: "Connecting…",
  live: "Live updates",
  offline: "Reconnecting…",
};

/** `/studio/videos/42` → 42; anything else → null. */
export function videoIdFromPath(path: string): number | null {
  const match = /^\/studio\/videos\/([1-9]\d{0,9})\/?$/.exec(path);
  return match ? Number(match[1]) : null;
}

function BackLink() {
  return (
    <a className="back-link" href="/studio/">
      ← Library
    </a>
  );
}

function StateCard({ title, text, action }: { title: string; text: string; action?: React.ReactNode }) {
  return (
    <main className="page" id="main">
      <BackLink />
      <div className="card card-narrow state-card" role="alert">
        <h1 className="card-title">{title}</h1>
        <p className="card-lede">{text}</p>
        {action ?? (
          <a className="button button-primary" href="/studio/">
            Go to the library
          </a>
        )}
      </div>
    </main>
  );
}

export function VideoPage({ api, id }: { api: ApiClient; id: number }) {
  const { load, feedStatus, publication, reload, replace, markDeleted } = useVideo(api, id);
  const [categories, setCategories] = useState<AdminCategory[]>([]);

  useEffect(() => {
    api
      .get<AdminCategory[]>("/api/admin/categories")
      .then((list) => setCategories([...list].sort((a, b) => a.name.localeCompare(b.name))))
      .catch(() => setCategories([]));
  }, [api]);

  useEffect(() => {
    if (load.status === "loaded") document.title = `${load.video.title} · Videoflix Studio`;
  }, [load]);

  switch (load.status) {
    case "loading":
      return (
        <main className="page" id="main" aria-busy="true">
          <BackLink />
          <div className="video-skeleton" aria-hidden="true">
            <div className="skeleton skeleton-title" />
            <div className="skeleton skeleton-player" />
          </div>
          <p className="visually-hidden" role="status">
            Loading the video…
          </p>
        </main>
      );
    case "not-found":
      return (
        <StateCard title="Video not found" text={`There is no video ${id}. It may have been deleted.`} />
      );
    case "deleted":
      return <StateCard title="Video deleted" text="The video, its files and its renditions are gone." />;
    case "error":
      return (
        <StateCard
          title="The video could not be loaded"
          text={load.message}
          action={
            <button type="button" className="button button-primary" onClick={() => void reload()}>
              Try again
            </button>
          }
        />
      );
    case "loaded":
      break;
  }
  const { video } = load;
  const languages = Object.keys(video.translations ?? {});
  const playable = video.playable || (video.published_revision ?? null) !== null;
  return (
    <main className="page video-page" id="main" data-video-id={video.id}>
      <BackLink />
      <div className="page-header">
        <div className="video-heading">
          <h1>{video.title}</h1>
          <p className="page-lede">
            <StateBadge state={video.processing_state} /> <span>{video.category}</span> ·{" "}
            <span>{formatDuration(video.duration_seconds)}</span> · created{" "}
            <time dateTime={video.created_at}>
              {formatDate(video.created_at)} {formatTime(video.created_at)}
            </time>
          </p>
        </div>
        <p className={`feed feed-${feedStatus}`} role="status">
          <span className="feed-dot" aria-hidden="true" />
          {FEED_LABELS[feedStatus]}
        </p>
      </div>
      <div className="video-layout">
        <div className="video-main">
          {playable ? (
            <Player
              key={`${video.id}:${publication}`}
              masterUrl={`/api/video/${video.id}/master.m3u8`}
              posterUrl={video.thumbnail_url}
              title={video.title}
            />
          ) : (
            <section className="panel player" aria-label="Preview">
              <h2 className="panel-title">Preview</h2>
              <div className="player-frame player-frame-empty">
                <p>Playable once the first rendition is published.</p>
              </div>
            </section>
          )}
          <MediaPanel api={api} video={video} />
          <JobHistory api={api} video={video} />
        </div>
        <div className="video-side">
          <MetadataForm
            api={api}
            video={video}
            categories={categories}
            languages={languages}
            onSaved={replace}
          />
          <ReplaceFile api={api} video={video} onReplaced={replace} />
          <DeleteVideo api={api} video={video} onDeleted={markDeleted} />
        </div>
      </div>
    </main>
  );
}
