// One-time direct-upload URLs for integrators (as Mux and api.video hand out): an admin makes one with
// the video's metadata, size cap and expiry; whoever holds its URL can make exactly one tus upload with
// it, resume it, and nothing else. The URL's token is `<id>.<HMAC of the id>`: it proves itself without
// a lookup and nothing secret is stored; the row says whether it is still usable.
import { createHmac, timingSafeEqual } from "node:crypto";
import { and, eq, gt, inArray, isNull, sql } from "drizzle-orm";
import type { Database } from "../../../db/client.ts";
import { type DirectUpload, directUploads, resumableUploads } from "../../../db/schema/index.ts";
import { ApiError, badRequest, forbidden, notFound } from "../../http/errors.ts";
import type { Clock } from "../../shared/clock.ts";
import type { SupportedLanguages } from "../../shared/localisation.ts";
import { validMetadata } from "../service.ts";
import type { StorageUploadStore } from "./store.ts";

export type DirectUploadStatus = "waiting" | "uploading" | "asset_created" | "expired" | "cancelled";

export interface DirectUploadView {
  upload: DirectUpload;
  videoId: number | null;
  status: DirectUploadStatus;
}

export const DEFAULT_DIRECT_UPLOAD_TTL_SECONDS = 3600;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const invalidUrl = () => new ApiError(401, { detail: "This upload URL is not valid." });

export class DirectUploadService {
  constructor(
    private readonly deps: {
      db: Database;
      clock: Clock;
      /** Keys the tokens (derived from JWT_SECRET, for this purpose only). */
      secret: Buffer;
      store: StorageUploadStore;
      maxUploadBytes: number;
      /** SUPPORTED_LANGUAGES: what the metadata check accepts as translations. */
      languages: SupportedLanguages;
    },
  ) {}

  async create(
    input: { title: string; description?: string; category: string; max_bytes?: number; expires_in?: number },
    createdBy: number,
  ): Promise<{ view: DirectUploadView; token: string }> {
    const metadata = validMetadata(input, ["title", "category"], this.deps.languages);
    const maxBytes = input.max_bytes ?? this.deps.maxUploadBytes;
    if (maxBytes > this.deps.maxUploadBytes) {
      throw badRequest({ max_bytes: [`At most MAX_UPLOAD_BYTES (${this.deps.maxUploadBytes}).`] });
    }
    const expiresIn = input.expires_in ?? DEFAULT_DIRECT_UPLOAD_TTL_SECONDS;
    const [row] = await this.deps.db
      .insert(directUploads)
      .values({
        title: metadata.title!,
        description: metadata.description ?? "",
        category: metadata.category!,
        maxBytes,
        createdBy,
        expiresAt: new Date(this.deps.clock.now().getTime() + expiresIn * 1000),
      })
      .returning();
    return { view: this.viewOf(row!, null), token: this.tokenOf(row!.id) };
  }

  async get(id: string): Promise<DirectUploadView> {
    const [row] = await this.deps.db
      .select({ upload: directUploads, videoId: resumableUploads.videoId })
      .from(directUploads)
      .leftJoin(resumableUploads, eq(resumableUploads.uploadId, directUploads.uploadId))
      .where(eq(directUploads.id, id));
    if (!row) throw notFound("Direct upload not found.");
    return this.viewOf(row.upload, row.videoId);
  }

  /** Cancels the URL; bytes already sent are removed. A URL that made its video cannot be cancelled. */
  async cancel(id: string): Promise<void> {
    const view = await this.get(id);
    if (view.status === "asset_created") {
      throw new ApiError(409, { detail: "The upload already became a video; delete the video instead." });
    }
    await this.deps.db
      .update(directUploads)
      .set({ cancelledAt: this.deps.clock.now() })
      .where(and(eq(directUploads.id, id), isNull(directUploads.cancelledAt)));
    const uploadId = view.upload.uploadId;
    if (uploadId) await this.deps.store.remove(uploadId).catch(() => {}); // already gone is fine
  }

  tokenOf(id: string): string {
    return `${id}.${createHmac("sha256", this.deps.secret).update(id).digest("base64url")}`;
  }

  /**
   * What a request carrying `token` may do: create the one upload (POST), or resume and check its own
   * upload (PATCH, HEAD). Anything else is refused; so is a URL that was cancelled, expired or used.
   */
  async authorise(token: string, method: string, uploadId: string | null): Promise<DirectUpload> {
    const id = this.idOf(token);
    if (!id) throw invalidUrl();
    const [row] = await this.deps.db.select().from(directUploads).where(eq(directUploads.id, id));
    if (!row) throw invalidUrl();
    if (row.cancelledAt) throw new ApiError(410, { detail: "This upload URL was cancelled." });
    if (method === "POST") {
      if (uploadId !== null) throw notFound();
      if (row.uploadId) throw new ApiError(409, { detail: "This upload URL was already used." });
    } else if (method === "PATCH" || method === "HEAD") {
      if (uploadId === null || uploadId !== row.uploadId) throw notFound("No such upload for this URL.");
    } else {
      throw forbidden("A direct-upload URL can only create and resume its own upload.");
    }
    if (row.expiresAt.getTime() <= this.deps.clock.now().getTime()) {
      throw new ApiError(410, { detail: "This upload URL has expired." });
    }
    return row;
  }

  /** Binds the URL to `uploadId`, once; false when another request (or replica) used it first. */
  async claim(id: string, uploadId: string): Promise<boolean> {
    const claimed = await this.deps.db
      .update(directUploads)
      .set({ uploadId })
      .where(
        and(
          eq(directUploads.id, id),
          isNull(directUploads.uploadId),
          isNull(directUploads.cancelledAt),
          gt(directUploads.expiresAt, sql`now()`),
        ),
      )
      .returning({ id: directUploads.id });
    return claimed.length > 0;
  }

  /**
   * Expired uploads (swept with their bytes) that never became a video: their rows go, and a URL still
   * valid is free again for a new upload.
   */
  async forget(uploadIds: string[]): Promise<void> {
    if (uploadIds.length === 0) return;
    const unfinished = await this.deps.db
      .delete(resumableUploads)
      .where(and(inArray(resumableUploads.uploadId, uploadIds), isNull(resumableUploads.videoId)))
      .returning({ uploadId: resumableUploads.uploadId });
    if (unfinished.length === 0) return;
    await this.deps.db
      .update(directUploads)
      .set({ uploadId: null })
      .where(
        inArray(
          directUploads.uploadId,
          unfinished.map((row) => row.uploadId),
        ),
      );
  }

  /**
   * An upload that will never become a video (its creation failed after the URL was bound to it, or it
   * was terminated): its row goes, and its URL, unless that made a video, is free again for a new upload.
   */
  async abandon(uploadId: string): Promise<void> {
    await this.deps.db
      .delete(resumableUploads)
      .where(and(eq(resumableUploads.uploadId, uploadId), isNull(resumableUploads.videoId)));
    const [finished] = await this.deps.db
      .select({ uploadId: resumableUploads.uploadId })
      .from(resumableUploads)
      .where(eq(resumableUploads.uploadId, uploadId));
    if (!finished) await this.release(uploadId);
  }

  /** An upload refused for its content frees its URL again: the integrator may send a proper file. */
  async release(uploadId: string): Promise<void> {
    await this.deps.db
      .update(directUploads)
      .set({ uploadId: null })
      .where(eq(directUploads.uploadId, uploadId));
  }

  private idOf(token: string): string | null {
    const [id, signature, ...rest] = token.split(".");
    if (!id || !signature || rest.length > 0 || !UUID.test(id)) return null;
    const expected = Buffer.from(this.tokenOf(id).split(".")[1]!);
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given) ? id : null;
  }

  private viewOf(upload: DirectUpload, videoId: number | null): DirectUploadView {
    const status: DirectUploadStatus = upload.cancelledAt
      ? "cancelled"
      : videoId !== null
        ? "asset_created"
        : upload.expiresAt.getTime() <= this.deps.clock.now().getTime()
          ? "expired"
          : upload.uploadId
            ? "uploading"
            : "waiting";
    return { upload, videoId, status };
  }
}
