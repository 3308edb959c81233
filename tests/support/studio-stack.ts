// What every studio browser test starts from: a test api serving a fresh build of the studio, with
// PUBLIC_URL its own address (posters, storyboards and media then load from the studio's origin, which
// its CSP requires), and the generated sources the test uploads, made while the studio builds.
import { expect } from "bun:test";
import { mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../dev/services.ts";
import { buildStudio } from "../../studio/build.ts";
import { ADMIN_ENV } from "./admin.ts";
import { farmSource } from "./farm.ts";
import type { StudioPage } from "./studio.ts";
import { startTestApi, type TestApi } from "./test-api.ts";

/** Where the studio tests put their screenshots (ignored by git; looked at by people). */
export const STUDIO_SCREENSHOTS = join(import.meta.dir, "../../var/screenshots");

/** A source to generate: its file name, seconds, width and height (farmSource's moving test card). */
export type StudioSource = [name: string, seconds: number, width: number, height: number];

export interface StudioStack {
  /** A scratch folder of the test's own, removed by stop(). */
  workDir: string;
  api: TestApi;
  /** The generated sources' paths, in the order asked for. */
  sources: string[];
  stop(): Promise<void>;
}

export async function startStudioStack(
  name: string,
  sources: StudioSource[],
  env: Record<string, string> = {},
): Promise<StudioStack> {
  const workDir = await mkdtemp(join(tmpdir(), `vf-${name}-`));
  mkdirSync(STUDIO_SCREENSHOTS, { recursive: true });
  const port = await freePort();
  const [, ...made] = await Promise.all([
    buildStudio(join(workDir, "studio")),
    ...sources.map(([file, seconds, width, height]) => farmSource(workDir, file, seconds, width, height)),
  ]);
  const api = await startTestApi(
    { ...ADMIN_ENV, STUDIO_DIR: join(workDir, "studio"), PUBLIC_URL: `http://127.0.0.1:${port}`, ...env },
    { port },
  );
  return {
    workDir,
    api,
    sources: made as string[],
    async stop() {
      await api.stop();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** No CSP violation, console error or request to another origin on the page so far. */
export function expectNoProblems(studio: StudioPage): void {
  expect(studio.problems).toEqual([]);
  expect(studio.foreign).toEqual([]);
}
