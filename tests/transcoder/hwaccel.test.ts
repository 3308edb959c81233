// Which acceleration a transcoder really uses: TRANSCODER_HWACCEL (or --hwaccel) is a wish, the host's
// self-test (a real encode or decode of a few frames on the GPU) decides. On a host without an NVIDIA
// GPU every GPU setting falls back to libx264 on the CPU, with a log line that says why.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import pino from "pino";
import { resolveHwAccel } from "../../transcoder/hwaccel/index.ts";
import type { HwAccelSetting } from "../../transcoder/hwaccel/modes.ts";
import { cudaWorks, nvencWorks } from "../../transcoder/hwaccel/self-test.ts";

/** Resolves `setting`, keeping what it logged as { level, msg } pairs. */
async function resolveLogged(setting: HwAccelSetting) {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const mode = await resolveHwAccel(setting, log);
  return { mode, logged: lines.map(({ level, msg }) => ({ level: pino.levels.labels[level], msg })) };
}

test("none is taken as it is: no self-test, nothing logged", async () => {
  expect(await resolveLogged("none")).toEqual({ mode: "none", logged: [] });
});

test("whatever the host, the self-tests answer with a boolean (the worker runs them at start-up)", async () => {
  expect(typeof (await nvencWorks())).toBe("boolean");
  expect(typeof (await cudaWorks())).toBe("boolean");
});

// The kernel's device node: without it no NVIDIA GPU can answer, with it these fallbacks do not apply.
const hasNvidiaGpu = existsSync("/dev/nvidiactl");

describe.skipIf(hasNvidiaGpu)("on a host without an NVIDIA GPU", () => {
  test("both self-tests fail", async () => {
    expect(await nvencWorks()).toBe(false);
    expect(await cudaWorks()).toBe(false);
  });

  test("nvenc falls back to libx264 with a warning naming the setting", async () => {
    expect(await resolveLogged("nvenc")).toEqual({
      mode: "none",
      logged: [
        {
          level: "warn",
          msg: "TRANSCODER_HWACCEL=nvenc: NVENC self-test failed: encoding with libx264 on the CPU",
        },
      ],
    });
  });

  test("cuda-decode falls back to decoding on the CPU with a warning", async () => {
    expect(await resolveLogged("cuda-decode")).toEqual({
      mode: "none",
      logged: [
        {
          level: "warn",
          msg: "TRANSCODER_HWACCEL=cuda-decode but CUDA decoding does not work here: falling back to libx264 on the CPU",
        },
      ],
    });
  });

  test("auto settles on the CPU, said at info level (nothing was asked for that failed)", async () => {
    expect(await resolveLogged("auto")).toEqual({
      mode: "none",
      logged: [
        {
          level: "info",
          msg: "TRANSCODER_HWACCEL=auto: NVENC self-test failed: encoding with libx264 on the CPU",
        },
      ],
    });
  });
});
