// infra/check-image-sources.ts: an image that copies less than its bun command imports is reported
// (the api and transcoder images once lacked contract/ and connections/ and would not have started).
import { describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { bunEntries, copiedPaths, missingSources, moduleClosure } from "../../infra/check-image-sources.ts";

const dockerfile = (name: string) => readFileSync(`infra/docker/${name}.Dockerfile`, "utf8");

describe("check-image-sources", () => {
  test("the repository's images copy every module their bun commands import", () => {
    for (const name of ["api", "transcoder", "transcoder-gpu", "certbot"]) {
      expect({ name, missing: missingSources(dockerfile(name)) }).toEqual({ name, missing: [] });
    }
  });

  test("the transcoder's closure reaches the contract and the Redis connections, never the api or db", () => {
    const folders = new Set(moduleClosure("transcoder/main.ts").map((file) => file.split("/")[0]));
    expect(folders).toContain("contract");
    expect(folders).toContain("connections");
    expect(folders.has("api")).toBe(false);
    expect(folders.has("db")).toBe(false);
  });

  test("a final stage without COPY contract is reported, with the command and the modules", () => {
    const broken = dockerfile("transcoder").replace(/^COPY contract \.\/contract\n/m, "");
    expect(broken).not.toContain("COPY contract");
    const missing = missingSources(broken);
    expect(missing.length).toBeGreaterThan(0);
    expect(
      missing.every((line) =>
        /^(transcoder\/main\.ts|infra\/docker\/healthcheck\.ts): contract\//.test(line),
      ),
    ).toBe(true);
    expect(missing).toContain("transcoder/main.ts: contract/transcode-jobs.ts");
  });

  test("only the final stage counts: a COPY in the deps stage or --from does not put sources in the image", () => {
    const text = [
      "FROM oven/bun AS deps",
      "COPY contract ./contract",
      "FROM oven/bun",
      "COPY --from=deps /app/node_modules ./node_modules",
      "COPY config storage \\",
      "  transcoder ./",
      'CMD ["bun", "transcoder/main.ts"]',
    ].join("\n");
    expect(copiedPaths(text)).toEqual(["config", "storage", "transcoder"]);
    expect(bunEntries(text)).toEqual(["transcoder/main.ts"]);
    expect(missingSources(text).some((line) => line.includes(": contract/"))).toBe(true);
  });

  test("the command exits non-zero and names the folders to copy", async () => {
    const dir = `${process.env.TMPDIR ?? "/tmp"}/vf-image-sources-${crypto.randomUUID()}`;
    const file = `${dir}/broken.Dockerfile`;
    await Bun.write(file, dockerfile("api").replace(/^COPY connections \.\/connections\n/m, ""));
    const run = Bun.spawnSync(["bun", "infra/check-image-sources.ts", file], {
      stderr: "pipe",
      stdout: "pipe",
    });
    rmSync(dir, { recursive: true, force: true });
    expect(run.exitCode).toBe(1);
    expect(run.stderr.toString()).toContain("add COPY lines for connections");
  });
});
