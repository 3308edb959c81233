// What the transcoder made besides the stream: every poster size, the seek-preview storyboard (the
// sprite sheets its WebVTT names) and each rung's progressive MP4 with its size (the catalogue's
// GET /api/videos/:id carries those signed links; a video not listed yet has none).
import { useEffect, useState } from "react";
import type { ApiClient } from "../api/http.ts";
import type { AdminVideo, CatalogueVideo, PlayableRendition } from "../api/types.ts";
import { formatBytes } from "../ui/format.ts";

interface StoryboardSheets {
  cues: number;
  sheets: string[];
}

/** The cues of a storyboard VTT and the sprite sheets they point into, as absolute URLs. */
export function parseStoryboard(vtt: string, base: string): StoryboardSheets {
  const sheets = new Set<string>();
  let cues = 0;
  for (const line of vtt.split(/\r?\n/)) {
    const target = line.trim();
    if (!target || target.includes("-->") || target === "WEBVTT") continue;
    if (/\.(jpe?g|webp|png)(#|$)/i.test(target)) {
      cues++;
      sheets.add(new URL(target.split("#")[0]!, base).href);
    }
  }
  return { cues, sheets: [...sheets] };
}

function Storyboard({ url }: { url: string }) {
  const [sheets, setSheets] = useState<StoryboardSheets | "loading" | "failed">("loading");
  useEffect(() => {
    const controller = new AbortController();
    fetch(url, { signal: controller.signal })
      .then((response) =>
        response.ok ? response.text() : Promise.reject(new Error(String(response.status))),
      )
      .then((vtt) => setSheets(parseStoryboard(vtt, url)))
      .catch(() => {
        if (!controller.signal.aborted) setSheets("failed");
      });
    return () => controller.abort();
  }, [url]);
  if (sheets === "loading") return <p className="muted">Loading the storyboard…</p>;
  if (sheets === "failed") return <p className="muted">The storyboard could not be loaded.</p>;
  return (
    <>
      <p className="muted">
        {sheets.cues} thumbnails on {sheets.sheets.length} sheet{sheets.sheets.length === 1 ? "" : "s"} ·{" "}
        <a href={url}>storyboard.vtt</a>
      </p>
      {/* The sheets wrap and shrink to the panel: nothing to scroll sideways. */}
      <div className="storyboard">
        {sheets.sheets.map((sheet, index) => (
          <img key={sheet} className="storyboard-sheet" src={sheet} alt={`Storyboard sheet ${index + 1}`} />
        ))}
      </div>
    </>
  );
}

function Downloads({ api, video }: { api: ApiClient; video: AdminVideo }) {
  const [renditions, setRenditions] = useState<PlayableRendition[] | "loading" | "unlisted">("loading");
  const key = `${video.id}:${video.published_revision ?? "none"}`;
  // biome-ignore lint/correctness/useExhaustiveDependencies: read again when another revision is published
  useEffect(() => {
    let current = true;
    api
      .get<CatalogueVideo>(`/api/videos/${video.id}`)
      .then((listed) => current && setRenditions(listed.renditions))
      .catch(() => current && setRenditions("unlisted"));
    return () => {
      current = false;
    };
  }, [api, key]);
  if (renditions === "loading") return <p className="muted">Loading the downloads…</p>;
  const mp4s = renditions === "unlisted" ? [] : renditions.filter((rendition) => rendition.mp4_url);
  if (mp4s.length === 0)
    return <p className="muted">No MP4 downloads: they are made with each transcode once it is published.</p>;
  return (
    <ul className="downloads">
      {[...mp4s]
        .sort((a, b) => b.height - a.height)
        .map((rendition) => (
          <li key={rendition.name} className="download">
            <span className="download-name">{rendition.name}</span>
            <span className="muted">
              {rendition.width}×{rendition.height}
              {rendition.size !== undefined && ` · ${formatBytes(rendition.size)}`}
            </span>
            <a
              className="button button-small"
              href={`${rendition.mp4_url}&download=1`}
              aria-label={`Download ${rendition.name} MP4`}
            >
              Download
            </a>
          </li>
        ))}
    </ul>
  );
}

export function MediaPanel({ api, video }: { api: ApiClient; video: AdminVideo }) {
  const posters = video.posters ?? [];
  return (
    <section className="panel" aria-labelledby="media-title">
      <h2 className="panel-title" id="media-title">
        Posters, storyboard and downloads
      </h2>
      <h3 className="panel-subtitle">Posters</h3>
      {posters.length === 0 ? (
        <p className="muted">No posters yet: the transcoder makes them when it publishes the video.</p>
      ) : (
        <ul className="posters">
          {posters.map((poster) => (
            <li key={poster.width} className="poster-size">
              <a href={poster.jpeg_url}>
                <img
                  src={poster.jpeg_url}
                  alt={`Poster ${poster.width}×${poster.height}`}
                  width={poster.width}
                  height={poster.height}
                  loading="lazy"
                />
              </a>
              <span className="poster-caption">
                {poster.width}×{poster.height} · <a href={poster.jpeg_url}>JPEG</a> ·{" "}
                <a href={poster.webp_url}>WebP</a>
              </span>
            </li>
          ))}
        </ul>
      )}
      <h3 className="panel-subtitle">Storyboard</h3>
      {video.storyboard_url ? (
        <Storyboard url={video.storyboard_url} />
      ) : (
        <p className="muted">No storyboard yet.</p>
      )}
      <h3 className="panel-subtitle">MP4 downloads</h3>
      <Downloads api={api} video={video} />
    </section>
  );
}
