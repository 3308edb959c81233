// Every `bun run bench:*` installs what it needs on a fresh machine: its npm script (or the shell script
// it runs) goes through infra/setup.sh first, with a purpose whose Debian packages cover the tools the
// benchmarks call (wrk, nginx, ffmpeg, taskset), as `npm test` goes through `infra/setup.sh test`.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";

const repoRoot = join(import.meta.dir, "../..");
const scripts: Record<string, string> = (await Bun.file(join(repoRoot, "package.json")).json()).scripts;
const setup = await Bun.file(join(repoRoot, "infra/setup.sh")).text();

/** The `infra/setup.sh <purpose> [--s3]` call a command makes first, itself or in the script it runs. */
async function setupCall(command: string): Promise<{ purpose: string; s3: boolean } | null> {
  const direct = /^bash infra\/setup\.sh (\w+)( --s3)? && /.exec(command);
  if (direct) return { purpose: direct[1]!, s3: Boolean(direct[2]) };
  const script = /^bash (infra\/\S+\.sh)$/.exec(command);
  if (!script) return null;
  const text = await Bun.file(join(repoRoot, script[1]!)).text();
  const inner = /^bash infra\/setup\.sh (\w+)( --s3)?$/m.exec(text);
  return inner ? { purpose: inner[1]!, s3: Boolean(inner[2]) } : null;
}

/** The Debian packages infra/setup.sh installs for a purpose (its `case` line). */
function packagesOf(purpose: string): string[] {
  const line = new RegExp(`^ {2}${purpose}\\) packages=\\(([^)]*)\\) ;;$`, "m").exec(setup);
  return line ? line[1]!.split(/\s+/) : [];
}

const benches = Object.entries(scripts).filter(([name]) => name.startsWith("bench:"));

describe("bench:* prerequisites", () => {
  test("there are benchmarks to check", () => {
    expect(benches.map(([name]) => name)).toContain("bench:heartbeats");
  });

  for (const [name, command] of benches) {
    test(`${name} runs infra/setup.sh before the benchmark`, async () => {
      const call = await setupCall(command);
      expect(call).not.toBeNull();
      const packages = packagesOf(call!.purpose);
      // wrk was the one missing on a fresh machine; the rest are what the benchmarks start or call.
      if (name !== "bench:viewers") expect(packages).toEqual(expect.arrayContaining(["wrk", "util-linux"]));
      expect(packages).toEqual(expect.arrayContaining(["redis-server", "postgresql", "ffmpeg", "nginx"]));
      // The object-storage benchmark needs SeaweedFS, which setup.sh builds only when asked.
      if (name === "bench:storage") expect(call!.s3).toBe(true);
    });
  }
});
