// A long film's pieces as jobs of its own (issue 14): children of the video's transcode job, on the same
// queue, one per chunk of video plus one for the whole film's sound. Everything a replica needs to
// encode its piece exactly as every other replica would is in the payload: the ladder and the source's
// facts are the parent's, never re-derived from a replica's own settings.
import { type Static, Type } from "@sinclair/typebox";
import { messageCodec } from "./codec.ts";

/** The BullMQ job name of a piece on the transcode queue (the video's own job is `transcode`). */
export const PIECE_JOB_NAME = "piece";

const Rung = Type.Object({
  name: Type.String({ pattern: "^[0-9]{2,4}p$" }),
  width: Type.Integer({ minimum: 2 }),
  height: Type.Integer({ minimum: 2 }),
  frameRate: Type.Number({ exclusiveMinimum: 0 }),
  videoBitrate: Type.Integer({ minimum: 1 }),
  maxrate: Type.Integer({ minimum: 1 }),
  bufsize: Type.Integer({ minimum: 1 }),
  audioBitrate: Type.Integer({ minimum: 1 }),
});

/** The probe's facts the piece commands depend on. */
const PieceSource = Type.Object({
  frameRate: Type.Number({ exclusiveMinimum: 0 }),
  variableFrameRate: Type.Boolean(),
  interlaced: Type.Boolean(),
  rotation: Type.Union([Type.Literal(0), Type.Literal(90), Type.Literal(180), Type.Literal(270)]),
  videoCodec: Type.String(),
  pixelFormat: Type.String(),
  bitDepth: Type.Integer({ minimum: 1 }),
  audio: Type.Union([
    Type.Object({ channels: Type.Integer(), sampleRate: Type.Integer(), codec: Type.String() }),
    Type.Null(),
  ]),
  demuxer: Type.String(),
  durationSeconds: Type.Number({ minimum: 0 }),
  videoDurationSeconds: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
});

const ChunkOfFilm = {
  index: Type.Integer({ minimum: 0 }),
  startSeconds: Type.Number({ minimum: 0 }),
  endSeconds: Type.Union([Type.Number({ exclusiveMinimum: 0 }), Type.Null()]),
};

export const PieceOfFilm = Type.Union([
  Type.Object({ kind: Type.Literal("chunk"), ...ChunkOfFilm }),
  Type.Object({ kind: Type.Literal("audio") }),
]);
export type PieceOfFilm = Static<typeof PieceOfFilm>;

/**
 * The video encoder of every chunk of a film (transcoder/chunks/film-encoder.ts): one encoder per film,
 * so that each rendition is one stream from the first cut to the last, whichever replicas encoded it.
 */
export const FilmEncoder = Type.Union([Type.Literal("libx264"), Type.Literal("h264_nvenc")]);
export type FilmEncoder = Static<typeof FilmEncoder>;

export const TranscodePieceJob = Type.Object({
  videoId: Type.Integer({ minimum: 1 }),
  revision: Type.Integer({ minimum: 1 }),
  sourceKey: Type.String({ minLength: 1 }),
  /**
   * The flow the piece belongs to (unique per planning, never reused): the piece is wanted while its
   * parent's data still names this flow (see flowOfFilmJob).
   */
  flow: Type.String({ pattern: "^[a-z0-9]+$" }),
  /** Storage prefix of this flow's pieces: one per attempt of the parent that planned it. */
  scratchPrefix: Type.String({ minLength: 1, pattern: "^scratch/" }),
  piece: PieceOfFilm,
  ladder: Type.Array(Rung, { minItems: 1 }),
  segmentSeconds: Type.Integer({ minimum: 1 }),
  /** The parent's x264 preset: every chunk of a rendition is encoded alike, whatever a replica's own. */
  preset: Type.String({ pattern: "^[a-z]+$" }),
  /**
   * The film's encoder, chosen by the replica that planned it. Absent in the pieces of a transcoder from
   * before it was recorded: each replica then encodes with its own, as that version did.
   */
  encoder: Type.Optional(FilmEncoder),
  source: PieceSource,
});
export type TranscodePieceJob = Static<typeof TranscodePieceJob>;
export const transcodePieceJobs = messageCodec(TranscodePieceJob);

/** What a finished piece returns: the storage key of its file (under the flow's scratch prefix). */
export const TranscodePieceResult = Type.Object({ key: Type.String({ minLength: 1 }) });
export type TranscodePieceResult = Static<typeof TranscodePieceResult>;
export const transcodePieceResults = messageCodec(TranscodePieceResult);

/**
 * The flow a film's job planned, kept in its data field `flow` so that its later runs find it again and
 * its pieces can tell whether they are still wanted. Null when none is recorded.
 */
export function flowOfFilmJob(data: unknown): string | null {
  const flow = (data as Record<string, unknown> | null | undefined)?.flow;
  return typeof flow === "string" ? flow : null;
}

/**
 * What a film's job recorded as it planned its flow (data field `flowPlan`): the run that stitches uses
 * these, whatever its own replica's ladder, segment length or chunking settings.
 */
export const RecordedFlowPlan = Type.Object({
  ladder: Type.Array(Rung, { minItems: 1 }),
  segmentSeconds: Type.Integer({ minimum: 1 }),
  chunks: Type.Array(Type.Object(ChunkOfFilm), { minItems: 1 }),
});
export type RecordedFlowPlan = Static<typeof RecordedFlowPlan>;
const recordedFlowPlans = messageCodec(RecordedFlowPlan);

/** The plan recorded with the film's flow, or null (none recorded, or not one this version reads). */
export function flowPlanOfFilmJob(data: unknown): RecordedFlowPlan | null {
  const checked = recordedFlowPlans.check((data as Record<string, unknown> | null | undefined)?.flowPlan);
  return checked.ok ? checked.value : null;
}

/**
 * The job history's attempt that planned the flow (data field `flowAttempt`): the film's later runs (the
 * stitch, a wake that waits again, a takeover of either) carry on that attempt in the history instead of
 * each opening one of their own, so a film encoded across the farm is one attempt there, as a one-pass
 * job is. Null when none is recorded (no flow, or one planned by a transcoder older than the field).
 */
export const FlowAttempt = Type.Object({
  attempt: Type.Integer({ minimum: 1 }),
  worker: Type.String({ minLength: 1 }),
});
export type FlowAttempt = Static<typeof FlowAttempt>;
/**
 * As recorded: with the flow it planned, so that it never stands for a flow planned by another run.
 * Without one it was recorded by the release before the field, which wrote and cleared it only with
 * `flow`: it is that flow's.
 */
const RecordedFlowAttempt = Type.Object({
  ...FlowAttempt.properties,
  flow: Type.Optional(Type.String({ minLength: 1 })),
});
const flowAttempts = messageCodec(RecordedFlowAttempt);

/** What a planning run records in the job's data: its flow, the plan and its attempt in the history. */
export function filmJobDataWithFlow(
  data: object,
  flow: string,
  plan: RecordedFlowPlan,
  attempt: FlowAttempt,
): Record<string, unknown> {
  return { ...data, flow, flowPlan: plan, flowAttempt: { ...attempt, flow } };
}

/**
 * The film job's data with no flow recorded: its next run plans one of its own, and the pieces of the
 * old one stop (they are wanted only while their parent's data names their flow). The transcoder
 * forgets a flow this way when the film fails; the api when an admin retries a job BullMQ failed
 * itself (stalled too often), whose data still names the flow the dead runs planned.
 */
export function filmJobDataWithoutFlow(data: object): Record<string, unknown> {
  return { ...data, flow: undefined, flowPlan: undefined, flowAttempt: undefined };
}

export function flowAttemptOfFilmJob(data: unknown): FlowAttempt | null {
  const flow = flowOfFilmJob(data);
  if (flow === null) return null;
  const checked = flowAttempts.check((data as Record<string, unknown>).flowAttempt);
  // Recorded with another flow: left by a transcoder that forgot or planned a flow without knowing
  // this field (a rolling upgrade). That attempt is over; this run opens its own.
  if (!checked.ok || (checked.value.flow !== undefined && checked.value.flow !== flow)) return null;
  return { attempt: checked.value.attempt, worker: checked.value.worker };
}

/** Whether a child key (`bull:<queue>:<piece id>`) names a piece of flow `flow` of job `parentJobId`. */
export function isPieceKeyOfFlow(childKey: string, parentJobId: string, flow: string): boolean {
  const prefix = `:${parentJobId}-${flow}-`;
  const at = childKey.lastIndexOf(prefix);
  return at >= 0 && /^(audio|chunk-\d{5})$/.test(childKey.slice(at + prefix.length));
}

/** A piece's job id: the parent's, the flow's, the piece's (a flow id is never reused: see film-flow.ts). */
export function pieceJobId(parentJobId: string, flow: string, piece: PieceOfFilm): string {
  const name = piece.kind === "audio" ? "audio" : `chunk-${String(piece.index).padStart(5, "0")}`;
  return `${parentJobId}-${flow}-${name}`;
}

/** The film (`<parent job id>-<flow>`) a piece's job id belongs to (see pieceJobId), or null for any other job. */
export function filmOfPieceId(jobId: string): string | null {
  return /^(.+-f[0-9a-z]+)-(?:audio|chunk-\d{5})$/.exec(jobId)?.[1] ?? null;
}
