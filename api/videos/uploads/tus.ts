// tus 1.0 at /api/uploads/ (@tus/server through its web entry point, handleWeb): who may upload (an
// admin session, or a direct-upload URL's token), the metadata checked at creation before any byte is
// stored, per-chunk checksums (the library has no checksum extension of its own: the store checks them),
// and the last byte's video. Refusals carry the api's JSON error shape.
import { Server, type Upload } from "@tus/server";
import type { Logger } from "pino";
import type { Database } from "../../../db/client.ts";
import { resumableUploads } from "../../../db/schema/index.ts";
import { COOKIE_CREDENTIAL, sessionResolver } from "../../auth/plugin.ts";
import type { AccessTokens } from "../../auth/session.ts";
import { dependencyOutageOf } from "../../http/dependency-outage.ts";
import { ApiError, badRequest } from "../../http/errors.ts";
import type { SupportedLanguages } from "../../shared/localisation.ts";
import { validMetadata } from "../service.ts";
import type { UploadCompletion } from "./completion.ts";
import type { DirectUploadService } from "./direct-uploads.ts";
import type { RedisLocker } from "./locker.ts";
import { type ChunkChecksum, chunkChecksum, type StorageUploadStore, UPLOAD_ID } from "./store.ts";
import { asTusError, isTusError, jsonBodyOf, tusError } from "./tus-errors.ts";

export const UPLOADS_PATH = "/api/uploads";
/** The response header that names the video a finished upload became. */
export const VIDEO_ID_HEADER = "Video-Id";
export const CHECKSUM_ALGORITHMS = ["sha1", "sha256"] as const;
/** Request headers a browser tus client sends (allowed in CORS preflights). */
export const TUS_REQUEST_HEADERS = [
  "tus-resumable",
  "upload-length",
  "upload-offset",
  "upload-metadata",
  "upload-checksum",
  "upload-defer-length",
  "upload-concat",
  "x-http-method-override",
];
/** Response headers a browser tus client reads. */
export const TUS_RESPONSE_HEADERS = [
  "location",
  "upload-offset",
  "upload-length",
  "upload-metadata",
  "upload-expires",
  "tus-resumable",
  "tus-version",
  "tus-extension",
  "tus-max-size",
  "tus-checksum-algorithm",
  VIDEO_ID_HEADER.toLowerCase(),
];
const MAX_FILENAME = 255;

type Uploader =
  | { kind: "admin"; userId: number }
  | { kind: "direct"; id: string; maxBytes: number; token: string };

/** The path below /api/uploads: `/<id>`, or `/direct/<token>/<id>` for a direct-upload URL. */
interface UploadRoute {
  token: string | null;
  uploadId: string | null;
}

/** A direct-upload URL's path: its token is the credential, cookies are ignored, any origin may use it. */
export const isDirectUploadPath = (pathname: string) => pathname.startsWith(`${UPLOADS_PATH}/direct/`);

/** `/api/uploads/direct/<id>.<HMAC>…`: the HMAC is the credential; the id alone opens nothing. */
const DIRECT_UPLOAD_TOKEN = /^(\/api\/uploads\/+direct\/+[0-9a-f-]{0,36})[^/]*/i;

/** A path as logs show it: a direct-upload URL keeps its id (to trace it) and loses its signature. */
export const redactedUploadPath = (pathname: string) => pathname.replace(DIRECT_UPLOAD_TOKEN, "$1.redacted");

function routeOf(pathname: string): UploadRoute | null {
  const rest = pathname.slice(UPLOADS_PATH.length).replace(/^\/+|\/+$/g, "");
  const segments = rest === "" ? [] : rest.split("/");
  const [first, second, third] = segments;
  if (first === "direct" && second && segments.length <= 3) return { token: second, uploadId: third ?? null };
  if (segments.length === 0) return { token: null, uploadId: null };
  if (segments.length === 1 && first !== "direct") return { token: null, uploadId: first! };
  return null;
}

function checksumOf(header: string | null): ChunkChecksum | null {
  if (header === null) return null;
  const [algorithm, digest, ...rest] = header.trim().split(/\s+/);
  if (!CHECKSUM_ALGORITHMS.includes(algorithm as never) || !digest || rest.length > 0) {
    throw badRequest({ detail: `Upload-Checksum must be "<${CHECKSUM_ALGORITHMS.join("|")}> <base64>".` });
  }
  return { algorithm: algorithm as ChunkChecksum["algorithm"], digest: Buffer.from(digest, "base64") };
}

export class ResumableUploads {
  private readonly server: Server;
  /** The same, for direct-upload URLs: any origin, never credentials (the token is in the URL). */
  private readonly directServer: Server;
  private readonly uploaders = new WeakMap<Request, Uploader>();
  private readonly routes = new WeakMap<Request, UploadRoute>();
  /** The upload a direct-upload URL was bound to by this creation request. */
  private readonly creations = new WeakMap<Request, string>();
  /** The admin's cookie session, by the macro's rule: a dialect's token (djoser's JWT) in the cookie is nobody's. */
  private readonly sessionOf: ReturnType<typeof sessionResolver>;

  constructor(
    private readonly deps: {
      db: Database;
      store: StorageUploadStore;
      locker: RedisLocker;
      completion: UploadCompletion;
      directUploads: DirectUploadService;
      accessTokens: AccessTokens;
      maxUploadBytes: number;
      /** SUPPORTED_LANGUAGES: what the metadata check accepts as translations. */
      languages: SupportedLanguages;
      allowedOrigins: ReadonlySet<string>;
      log: Logger;
    },
  ) {
    this.sessionOf = sessionResolver(deps.accessTokens, COOKIE_CREDENTIAL);
    const options = {
      path: UPLOADS_PATH,
      datastore: deps.store,
      locker: deps.locker,
      maxSize: (request) => {
        const uploader = this.uploaders.get(request as unknown as Request);
        return uploader?.kind === "direct" ? uploader.maxBytes : deps.maxUploadBytes;
      },
      // Relative: right behind the edge, a proxy or a loopback test alike (clients resolve it).
      generateUrl: (request, { path, id }) => {
        const uploader = this.uploaders.get(request as unknown as Request);
        return uploader?.kind === "direct" ? `${path}/direct/${uploader.token}/${id}` : `${path}/${id}`;
      },
      getFileIdFromRequest: (request) =>
        this.routes.get(request as unknown as Request)?.uploadId ?? undefined,
      allowedHeaders: ["X-CSRFToken", "Upload-Checksum", "X-Request-ID"],
      exposedHeaders: ["Upload-Expires", "Tus-Checksum-Algorithm", VIDEO_ID_HEADER],
      onUploadCreate: (request, upload) => this.created(request as unknown as Request, upload),
      onUploadFinish: async (_request, upload) => {
        const videoId = await deps.completion.complete(upload).catch((error) => {
          throw asTusError(error);
        });
        return { headers: { [VIDEO_ID_HEADER]: String(videoId) } };
      },
      onResponseError: (_request, error) => {
        if (!(error instanceof Error)) return undefined;
        if (dependencyOutageOf(error)) {
          return tusError(503, { detail: "The service is temporarily unavailable. Try again shortly." });
        }
        deps.log.error({ err: error }, "resumable upload failed");
        return tusError(500, { detail: "Internal server error." });
      },
    } satisfies Partial<ConstructorParameters<typeof Server>[0]>;
    this.server = new Server({
      ...options,
      allowedOrigins: (origin) => deps.allowedOrigins.has(origin),
      allowedCredentials: true,
    });
    this.directServer = new Server({
      ...options,
      allowedOrigins: () => true,
      allowedCredentials: false,
    });
  }

  private serverFor(request: Request): Server {
    return isDirectUploadPath(new URL(request.url).pathname) ? this.directServer : this.server;
  }

  /** OPTIONS: the protocol's discovery (versions, extensions, Tus-Max-Size) and CORS preflights. */
  async options(request: Request): Promise<Response> {
    const response = await this.serverFor(request).handleWeb(request);
    response.headers.set("Tus-Checksum-Algorithm", CHECKSUM_ALGORITHMS.join(","));
    return response;
  }

  /** Every other tus request; throws an ApiError (JSON 4xx) for a request nobody may make. */
  async handle(request: Request): Promise<Response> {
    if (request.method === "OPTIONS") return this.options(request);
    const route = routeOf(new URL(request.url).pathname);
    if (!route || (route.uploadId !== null && !UPLOAD_ID.test(route.uploadId))) {
      throw new ApiError(404, { detail: "No such upload." });
    }
    const uploader = await this.uploaderOf(request, route);
    const checksum = checksumOf(request.headers.get("upload-checksum"));
    this.routes.set(request, route);
    this.uploaders.set(request, uploader);
    const server = route.token === null ? this.server : this.directServer;
    const handled = await this.settled(request, route, () =>
      chunkChecksum.run(checksum, () => server.handleWeb(request)),
    );
    const response = await this.finishedOnHead(request, route, handled);
    if (response.status < 400) return response;
    const headers = new Headers(response.headers);
    headers.set("content-type", "application/json");
    headers.delete("content-length");
    return new Response(jsonBodyOf(await response.text()), { status: response.status, headers });
  }

  /**
   * Runs the library's handling, then frees a direct-upload URL whose upload will never exist for its
   * client: a creation that failed after `created` bound the URL (the client never got a Location; the
   * library stores the upload after that hook), or a terminated upload.
   */
  private async settled(request: Request, route: UploadRoute, handling: () => Promise<Response>) {
    let response: Response | null = null;
    try {
      response = await handling();
      return response;
    } finally {
      const created = this.creations.get(request);
      if (created !== undefined && (response === null || response.status >= 400)) {
        await this.abandon(created, true);
      } else if (request.method === "DELETE" && route.uploadId !== null && response?.status === 204) {
        await this.abandon(route.uploadId, false);
      }
    }
  }

  /**
   * HEAD of an upload that holds every byte but became no video (its finishing failed, or its api was
   * killed while finishing): the video is made now, since a client seeing the whole offset sends no
   * more PATCH (tus-js-client reports success), and the answer names it as the last PATCH's would.
   */
  private async finishedOnHead(request: Request, route: UploadRoute, response: Response): Promise<Response> {
    const id = route.uploadId;
    if (request.method !== "HEAD" || response.status !== 200 || id === null) return response;
    if (response.headers.get("upload-offset") !== response.headers.get("upload-length")) return response;
    if (!(await this.deps.store.awaitsVideo(id))) return response;
    let videoId: number;
    try {
      videoId = await this.deps.completion.complete(await this.deps.store.getUpload(id));
    } catch (error) {
      if (!isTusError(error)) throw error;
      return new Response(error.body, { status: error.status_code, headers: response.headers });
    }
    const headers = new Headers(response.headers);
    headers.set(VIDEO_ID_HEADER, String(videoId));
    return new Response(null, { status: response.status, headers });
  }

  private async abandon(uploadId: string, removeBytes: boolean): Promise<void> {
    try {
      if (removeBytes) await this.deps.store.remove(uploadId).catch(() => {}); // none stored is fine
      await this.deps.directUploads.abandon(uploadId);
    } catch (error) {
      this.deps.log.error(
        { err: error, upload_id: uploadId },
        "could not free the upload's direct-upload URL",
      );
    }
  }

  private async uploaderOf(request: Request, route: UploadRoute): Promise<Uploader> {
    if (route.token !== null) {
      const direct = await this.deps.directUploads.authorise(route.token, request.method, route.uploadId);
      const maxBytes = Math.min(direct.maxBytes, this.deps.maxUploadBytes);
      return { kind: "direct", id: direct.id, maxBytes, token: route.token };
    }
    const { user } = await this.sessionOf(request, true);
    return { kind: "admin", userId: user.id };
  }

  /** Creation: the metadata is checked and the upload recorded before any byte is stored. */
  private async created(request: Request, upload: Upload): Promise<{ metadata: Record<string, string> }> {
    const uploader = this.uploaders.get(request);
    if (!uploader) throw tusError(401, { detail: "Authentication credentials were not provided." });
    const given = upload.metadata ?? {};
    const filename = given.filename ?? "upload";
    if (typeof filename !== "string" || filename.length > MAX_FILENAME) {
      throw tusError(400, { filename: [`At most ${MAX_FILENAME} characters.`] });
    }
    if (upload.size === 0) throw tusError(415, { file: ["The file is empty."] });
    let metadata: Record<string, string>;
    let uploadedBy: number | null = null;
    if (uploader.kind === "admin") {
      uploadedBy = uploader.userId;
      let fields: ReturnType<typeof validMetadata>;
      try {
        fields = validMetadata(given, ["title", "category"], this.deps.languages);
      } catch (error) {
        throw asTusError(error);
      }
      metadata = {
        title: fields.title!,
        description: fields.description ?? "",
        category: fields.category!,
        filename,
        // Kept as the multipart route takes it (JSON text), for the video the last byte makes.
        ...(fields.translations === undefined ? {} : { translations: JSON.stringify(fields.translations) }),
      };
    } else {
      // The URL's metadata was fixed when it was made: the uploader names only the file.
      const direct = await this.deps.directUploads.get(uploader.id);
      if (!(await this.deps.directUploads.claim(uploader.id, upload.id))) {
        throw tusError(409, { detail: "This upload URL was already used." });
      }
      this.creations.set(request, upload.id);
      const { title, description, category, createdBy } = direct.upload;
      uploadedBy = createdBy;
      metadata = { title, description, category, filename };
    }
    await this.deps.db.insert(resumableUploads).values({
      uploadId: upload.id,
      uploadedBy,
      directUploadId: uploader.kind === "direct" ? uploader.id : null,
    });
    return { metadata };
  }
}
