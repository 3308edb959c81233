// One file on its way up, over tus (tus-js-client against /api/uploads/): the admin's cookie session
// with the CSRF echo on every request and one refresh on a 401; automatic retries after a dropped
// connection (retryDelays), then a paused state the person resumes; pause, resume, cancel (a DELETE
// that removes the bytes); resuming an upload that a reload or a closed tab left unfinished (the
// fingerprints tus-js-client keeps in localStorage). The details typed after the upload was created
// reach the video with the admin PATCH once the last byte named it.
import * as tus from "tus-js-client";
import { type ApiClient, ApiRequestError, csrfToken } from "../api/http.ts";
import { isRefusal, missingDetail, refusalOf, sameDetails } from "./refusals.ts";
import { TransferRate } from "./transfer-rate.ts";

export const UPLOADS_ENDPOINT = "/api/uploads/";
/** Chunks small enough that a lost connection costs little, large enough to keep the link busy. */
export const CHUNK_BYTES = 5 * 1024 * 1024;
/** Waits before each automatic retry; when they are spent the upload pauses with the reason. */
export const RETRY_DELAYS_MS = [0, 1_000, 3_000, 6_000];

export interface VideoDetails {
  title: string;
  description: string;
  category: string;
}

export type UploadPhase =
  | "ready" // added, not started
  | "uploading"
  | "retrying" // the connection dropped; tus-js-client tries again by itself
  | "paused" // by the person
  | "offline" // the retries are spent: Resume tries again
  | "refused" // the api said no (415, 413, 400…): nothing to resume
  | "finishing" // every byte is up; the video's details are being applied
  | "done"
  | "cancelled";

export interface UploadSnapshot {
  phase: UploadPhase;
  bytesSent: number;
  bytesTotal: number;
  bytesPerSecond: number | null;
  secondsLeft: number | null;
  /** Why it is refused, offline or retrying, or what went wrong applying the details. */
  message: string | null;
  videoId: number | null;
  /** An unfinished upload of this file from before (another visit): its bytes are not sent again. */
  resumable: { sentBefore: string } | null;
  details: VideoDetails;
}

export class UploadTask {
  private readonly upload: tus.Upload;
  private readonly rate = new TransferRate();
  private snapshot: UploadSnapshot;
  /** The details the upload was created with (the api keeps those); null before creation. */
  private sentDetails: VideoDetails | null = null;
  private previous: tus.PreviousUpload | null = null;
  private sessionRefreshed = false;

  constructor(
    readonly file: File,
    details: VideoDetails,
    private readonly api: ApiClient,
    private readonly changed: (snapshot: UploadSnapshot) => void,
    /** The api's Tus-Max-Size, when known: named in a 413's message. */
    private readonly maxBytes: number | null = null,
  ) {
    this.snapshot = {
      phase: "ready",
      bytesSent: 0,
      bytesTotal: file.size,
      bytesPerSecond: null,
      secondsLeft: null,
      message: null,
      videoId: null,
      resumable: null,
      details,
    };
    this.upload = new tus.Upload(file, {
      endpoint: UPLOADS_ENDPOINT,
      chunkSize: CHUNK_BYTES,
      retryDelays: RETRY_DELAYS_MS,
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onBeforeRequest: (request) => {
        const csrf = csrfToken();
        if (csrf) request.setHeader("X-CSRFToken", csrf);
      },
      onAfterResponse: async (_request, response) => {
        // An expired access token: refresh once, and let onShouldRetry send the request again.
        if (response.getStatus() !== 401) return;
        const outcome = await this.api.refresh();
        this.sessionRefreshed = outcome === "refreshed";
        if (outcome === "refused") this.api.sessionEnded();
      },
      onShouldRetry: (error) => {
        const status = error.originalResponse?.getStatus() ?? 0;
        if (status === 401) {
          const again = this.sessionRefreshed;
          this.sessionRefreshed = false;
          return again;
        }
        if (isRefusal(status)) return false;
        this.rate.reset();
        this.update({ phase: "retrying", message: "The connection dropped. Trying again…" });
        return true;
      },
      onUploadUrlAvailable: () => {
        this.sentDetails ??= this.snapshot.details;
      },
      onProgress: (bytesSent, bytesTotal) => {
        const now = performance.now();
        this.rate.record(bytesSent, now);
        this.update({
          phase: this.snapshot.phase === "retrying" ? "uploading" : this.snapshot.phase,
          message: this.snapshot.phase === "retrying" ? null : this.snapshot.message,
          bytesSent,
          bytesTotal,
          bytesPerSecond: this.rate.bytesPerSecond(now),
          secondsLeft: this.rate.secondsLeft(bytesTotal, now),
        });
      },
      onSuccess: ({ lastResponse }) => {
        const header = lastResponse.getHeader("Video-Id");
        void this.finish(header ? Number(header) : null);
      },
      onError: (error) => void this.failed(error),
    });
  }

  get current(): UploadSnapshot {
    return this.snapshot;
  }

  /** Looks for an unfinished upload of the same file (same name, type, size and date) from before. */
  async findPrevious(): Promise<void> {
    const previous = (await this.upload.findPreviousUploads())
      .filter((upload) => upload.uploadUrl !== null)
      .sort((a, b) => b.creationTime.localeCompare(a.creationTime))[0];
    if (!previous || this.snapshot.phase !== "ready") return;
    this.previous = previous;
    const stored = previous.metadata;
    this.update({
      resumable: { sentBefore: previous.creationTime },
      details: {
        title: stored.title ?? this.snapshot.details.title,
        description: stored.description ?? this.snapshot.details.description,
        category: stored.category ?? this.snapshot.details.category,
      },
    });
  }

  start(): void {
    if (this.snapshot.phase !== "ready") return;
    // The api would refuse these too, but tus would send a blank value as no value: say it plainly.
    const missing = this.previous ? null : missingDetail(this.snapshot.details);
    if (missing) {
      this.update({ message: missing });
      return;
    }
    if (this.previous) {
      this.upload.resumeFromPreviousUpload(this.previous);
      const stored = this.previous.metadata;
      this.sentDetails = {
        title: stored.title ?? "",
        description: stored.description ?? "",
        category: stored.category ?? "",
      };
    } else {
      const { title, description, category } = this.snapshot.details;
      // tus sends an empty value as a key alone, which the api reads as no text at all.
      this.upload.options.metadata = {
        title,
        category,
        filename: this.file.name,
        ...(description === "" ? {} : { description }),
      };
    }
    this.update({ phase: "uploading", message: null });
    this.upload.start();
  }

  pause(): void {
    if (!["uploading", "retrying"].includes(this.snapshot.phase)) return;
    this.update({ phase: "paused", message: null, bytesPerSecond: null, secondsLeft: null });
    this.rate.reset();
    void this.upload.abort(false);
  }

  /** Goes on from the offset the api has (tus-js-client asks it with a HEAD first). */
  resume(): void {
    if (!["paused", "offline"].includes(this.snapshot.phase)) return;
    this.update({ phase: "uploading", message: null });
    this.upload.start();
  }

  /** Stops the transfer and terminates the upload (DELETE): its bytes are removed on the server. */
  async cancel(): Promise<void> {
    if (["done", "finishing", "cancelled", "refused"].includes(this.snapshot.phase)) return;
    const started = this.snapshot.phase !== "ready";
    this.update({ phase: "cancelled", message: null, bytesSent: 0, bytesPerSecond: null, secondsLeft: null });
    if (!started) return;
    try {
      await this.upload.abort(true);
    } catch (error) {
      // The transfer is stopped either way; the api expires what it keeps (Upload-Expires).
      this.update({ message: `Stopped, but the server could not remove the bytes sent: ${String(error)}` });
    }
  }

  /** New details: kept for the creation, or applied to the video once it exists. */
  editDetails(details: VideoDetails): void {
    const stillMissing = this.snapshot.phase === "ready" && this.snapshot.message !== null;
    this.update({ details, message: stillMissing ? missingDetail(details) : this.snapshot.message });
  }

  private async finish(headerVideoId: number | null): Promise<void> {
    this.update({
      phase: "finishing",
      bytesSent: this.snapshot.bytesTotal,
      bytesPerSecond: null,
      secondsLeft: 0,
      message: null,
    });
    try {
      const videoId = headerVideoId ?? (await this.videoOfUpload());
      this.snapshot = { ...this.snapshot, videoId };
      const sent = this.sentDetails;
      const wanted = this.snapshot.details;
      if (sent && !sameDetails(sent, wanted)) {
        await this.api.request("PATCH", `/api/admin/videos/${videoId}`, wanted);
      }
      this.update({ phase: "done" });
    } catch (error) {
      this.update({
        phase: "done",
        message: `Uploaded, but its details could not be saved: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
  }

  /** The video the finished upload became (a resumed upload may finish on a HEAD, which names none). */
  private async videoOfUpload(): Promise<number> {
    const id = this.upload.url?.split("/").filter(Boolean).at(-1);
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.api.get<{ id: number }>(`${UPLOADS_ENDPOINT}${id}/video`)).id;
      } catch (error) {
        // 409: the last byte is in, the video is being made; ask again shortly.
        if (!(error instanceof ApiRequestError && error.status === 409) || attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  private async failed(error: Error): Promise<void> {
    if (this.snapshot.phase === "cancelled" || this.snapshot.phase === "paused") return;
    const { status, message } = refusalOf(error, this.maxBytes);
    this.rate.reset();
    if (status === 401 || status === 403) {
      // The session is over (the app shows the sign-in page): the upload itself is fine, and resumes
      // from its fingerprint once someone signs in and chooses the file again.
      this.update({ phase: "offline", message, bytesPerSecond: null, secondsLeft: null });
      return;
    }
    if (isRefusal(status)) {
      // The api removed the upload (or never made it): nothing to resume, so forget its fingerprint.
      await this.forgetFingerprint();
      // Nothing of it was kept: the bar says so too.
      this.update({ phase: "refused", message, bytesSent: 0, bytesPerSecond: null, secondsLeft: null });
      return;
    }
    this.update({
      phase: "offline",
      message:
        status === 0
          ? "The connection to the server was lost. Resume when it is back: the bytes already sent are kept."
          : `${message} The bytes already sent are kept.`,
      bytesPerSecond: null,
      secondsLeft: null,
    });
  }

  private async forgetFingerprint(): Promise<void> {
    const { fingerprint, urlStorage } = tus.defaultOptions;
    const key = await fingerprint(this.file, this.upload.options);
    for (const stored of await urlStorage.findUploadsByFingerprint(key)) {
      await urlStorage.removeUpload(stored.urlStorageKey);
    }
  }

  private update(change: Partial<UploadSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...change };
    this.changed(this.snapshot);
  }
}
