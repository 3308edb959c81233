// Uploads that go wrong below the happy path: a media volume that fills up mid-write (a real 4 MiB
// tmpfs, so the ENOSPC comes from the kernel) and a text field past busboy's 16 KiB field limit.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase, freePort, testRedisUrl } from "../../dev/services.ts";
import { ADMIN_ENV, adminClient, sendAs, upload } from "../support/admin.ts";
import { expectError } from "../support/assertions.ts";
import { tinyMp4Bytes } from "../support/fixtures.ts";
import { entriesOf, filesUnder } from "../support/media-root.ts";
import { type Client, startTestApi, type TestApi } from "../support/test-api.ts";

const MiB = 1024 * 1024;

let mountPoint: string;
let mounted = false;
let api: TestApi;
let admin: Client;
let mp4: Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  mountPoint = mkdtempSync(join(tmpdir(), "vf-full-disk-"));
  const mount = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mountPoint]);
  if (mount.exitCode !== 0) {
    // No silent skip: a run without the small file system has not tested the full-disk path.
    throw new Error(
      `upload-faults needs root to mount a 4 MiB tmpfs at ${mountPoint} (CI runs as root): ` +
        `mount exited ${mount.exitCode}: ${mount.stderr.toString().trim()}`,
    );
  }
  mounted = true;
  api = await startTestApi({ MEDIA_ROOT: mountPoint, ...ADMIN_ENV }, { consumeEvents: false });
  [admin, mp4] = await Promise.all([adminClient(api), tinyMp4Bytes()]);
});

afterAll(async () => {
  await api?.stop();
  if (mounted) Bun.spawnSync(["umount", mountPoint]);
  if (mountPoint) rmSync(mountPoint, { recursive: true, force: true });
});

/** `bytes` long, starting with the real MP4's head so that it passes the container sniffing. */
function mp4Padded(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  out.set(mp4.subarray(0, Math.min(mp4.byteLength, bytes)));
  return out;
}

/** Settles within `ms` or fails with `label` (an answer that never comes must not hang the suite). */
function within<T>(ms: number, label: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe("a full media volume", () => {
  test("an 8 MiB upload onto 4 MiB answers 507 JSON, keeps nothing, and the api keeps serving", async () => {
    const response = await within(
      15_000,
      "8 MiB upload",
      upload(api, admin, { title: "too big for the disk", category: "Disk", file: mp4Padded(8 * MiB) }),
    );
    const { body } = await expectError(response, 507);
    expect(body).toEqual({ detail: "The media storage is full." });

    // Still alive: a rejected write must not have taken the process down.
    const health = await fetch(`${api.url}/health`);
    expect(health.status).toBe(200);
    expect(filesUnder(mountPoint)).toEqual([]);
    expect(entriesOf(join(mountPoint, ".staging"))).toEqual([]);

    // The space was given back: a small upload fits again.
    const small = await upload(api, admin, {
      title: "fits",
      category: "Disk",
      file: mp4,
    });
    expect(small.status, await small.clone().text()).toBe(202);
    const sources = entriesOf(join(mountPoint, "sources"));
    expect(sources).toHaveLength(1);
    expect(entriesOf(join(mountPoint, ".staging"))).toEqual([]);

    // Replacing the file hits the same wall the same way, and the current source stays.
    const { id } = (await small.json()) as { id: number };
    const form = new FormData();
    form.append("file", new Blob([mp4Padded(8 * MiB) as Uint8Array<ArrayBuffer>]), "clip.mp4");
    const replaced = await within(
      15_000,
      "8 MiB replacement",
      sendAs(api, admin, "PUT", `/api/admin/videos/${id}/file`, { body: form }),
    );
    expect((await expectError(replaced, 507)).body).toEqual({ detail: "The media storage is full." });
    expect(entriesOf(join(mountPoint, "sources"))).toEqual(sources);
    // Still serving after the refused replacement.
    expect((await fetch(`${api.url}/health`)).status).toBe(200);
    expect(entriesOf(join(mountPoint, ".staging"))).toEqual([]);
  });
});

describe("a text field past the 64 KiB limit", () => {
  for (const order of ["before", "after"] as const) {
    test(`a 70 KB description ${order} the file answers 400 naming it, and nothing is kept`, async () => {
      const sourcesBefore = entriesOf(join(mountPoint, "sources"));
      const form = new FormData();
      form.append("title", "long description");
      form.append("category", "Fields");
      if (order === "before") form.append("description", "d".repeat(70_000));
      form.append("file", new Blob([mp4]), "clip.mp4");
      if (order === "after") form.append("description", "d".repeat(70_000));
      const response = await within(
        5_000,
        `70 KB description ${order} the file`,
        sendAs(api, admin, "POST", "/api/admin/videos", { body: form }),
      );
      const { body } = await expectError(response, 400);
      expect(body).toEqual({ description: ["This field is too long."] });
      expect(entriesOf(join(mountPoint, "sources"))).toEqual(sourcesBefore);
      expect(entriesOf(join(mountPoint, ".staging"))).toEqual([]);
    });
  }
});

// Fault injection for a real `bun api/main.ts`: once the api answers /health, a promise nobody awaits
// rejects; on SIGUSR2 a timer throws. Preloaded, so main.ts itself runs unchanged.
const FAULTS_PRELOAD = `
const url = "http://127.0.0.1:" + process.env.PORT + "/health";
const poll = setInterval(async () => {
  const ok = await fetch(url).then((r) => r.ok, () => false);
  if (!ok) return;
  clearInterval(poll);
  Promise.reject(new Error("probe: nobody awaited this"));
}, 100);
process.on("SIGUSR2", () => setTimeout(() => { throw new Error("probe: thrown at the top"); }));
`;

describe("process-level handlers of the api", () => {
  test("an unhandled rejection is logged as JSON and the api keeps serving; an uncaught exception exits 1", async () => {
    const scratch = mkdtempSync(join(tmpdir(), "vf-faults-"));
    const [database, redisUrl, port] = await Promise.all([createTestDatabase(), testRedisUrl(), freePort()]);
    writeFileSync(join(scratch, "faults.ts"), FAULTS_PRELOAD);
    const child = Bun.spawn(["bun", "--preload", join(scratch, "faults.ts"), "api/main.ts"], {
      env: {
        ...process.env,
        NODE_ENV: "test",
        HOST: "127.0.0.1",
        PORT: String(port),
        DATABASE_URL: database.url,
        REDIS_URL: redisUrl,
        MEDIA_ROOT: join(scratch, "media"),
        MAIL_DIR: join(scratch, "mail"),
        LOG_LEVEL: "info",
      },
      stdout: "pipe",
      stderr: "pipe",
    });
    let output = "";
    const reading = (async () => {
      for await (const chunk of child.stdout) output += new TextDecoder().decode(chunk);
    })();
    const logged = async (event: string) => {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const line = output.split("\n").find((text) => text.includes(`"event":"${event}"`));
        if (line) return JSON.parse(line) as { level: number; msg: string; err?: { message?: string } };
        if (child.exitCode !== null) break;
        await Bun.sleep(50);
      }
      throw new Error(`no ${event} log line; exit ${child.exitCode}; output:\n${output}`);
    };
    try {
      const rejection = await logged("unhandledRejection");
      expect(rejection.err?.message).toBe("probe: nobody awaited this");
      expect(rejection.level).toBe(50);
      await Bun.sleep(200);
      expect(child.exitCode).toBeNull();
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);

      child.kill("SIGUSR2");
      const exception = await logged("uncaughtException");
      expect(exception.err?.message).toBe("probe: thrown at the top");
      expect(exception.level).toBe(60);
      expect(await within(10_000, "api exit", child.exited)).toBe(1);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await child.exited;
      await reading;
      await database.drop();
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
