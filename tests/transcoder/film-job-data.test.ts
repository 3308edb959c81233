// The flow a film's job records in its data (contract/transcode-pieces.ts): what a later run reads back
// as the history's attempt to carry on, and when it must not (a retry's clean slate, or a flow planned
// by a transcoder that does not know the attempt field, as in a rolling upgrade).
import { describe, expect, test } from "bun:test";
import {
  filmJobDataWithFlow,
  filmJobDataWithoutFlow,
  flowAttemptOfFilmJob,
  flowOfFilmJob,
  flowPlanOfFilmJob,
} from "../../contract/transcode-pieces.ts";
import { SAMPLE_RUNG } from "../support/fixtures.ts";

const JOB = { videoId: 7, revision: 2, sourceKey: "uploads/a", outputPrefix: "videos/7/r2" };
const PLAN = {
  ladder: [SAMPLE_RUNG],
  segmentSeconds: 6,
  chunks: [{ index: 0, startSeconds: 0, endSeconds: null }],
};
/** As BullMQ stores a job's data: JSON, where an undefined field is no field. */
const stored = (data: object) => JSON.parse(JSON.stringify(data)) as Record<string, unknown>;

describe("a film job's recorded flow", () => {
  test("names the planning run's attempt to the runs after it", () => {
    const data = stored(filmJobDataWithFlow(JOB, "fabc", PLAN, { attempt: 3, worker: "transcoder-b" }));
    expect(flowOfFilmJob(data)).toBe("fabc");
    expect(flowPlanOfFilmJob(data)).toEqual(PLAN);
    expect(flowAttemptOfFilmJob(data)).toEqual({ attempt: 3, worker: "transcoder-b" });
    expect(data).toMatchObject(JOB);
  });

  test("forgotten, leaves the job's own fields and nothing of the flow", () => {
    const data = stored(
      filmJobDataWithoutFlow(filmJobDataWithFlow(JOB, "fabc", PLAN, { attempt: 1, worker: "a" })),
    );
    expect(data).toEqual(JOB);
    expect(flowAttemptOfFilmJob(data)).toBeNull();
  });

  test("an attempt recorded with another flow stands for none; one of the release before, for its flow", () => {
    const planned = stored(filmJobDataWithFlow(JOB, "fold", PLAN, { attempt: 1, worker: "a" }));
    // A transcoder older than the field forgot the flow and planned another, keeping the data's rest.
    const replanned = { ...planned, flow: "fnew", flowPlan: PLAN };
    expect(flowAttemptOfFilmJob(replanned)).toBeNull();
    // One recorded without its flow, by the release before the field (which wrote and cleared it only
    // together with the flow), is the flow's: a film planned across an upgrade stays one attempt.
    expect(flowAttemptOfFilmJob({ ...planned, flowAttempt: { attempt: 1, worker: "a" } })).toEqual({
      attempt: 1,
      worker: "a",
    });
    expect(
      flowAttemptOfFilmJob({ ...JOB, flowAttempt: { attempt: 1, worker: "a", flow: "fold" } }),
    ).toBeNull();
  });
});
