// dev/test-postgres.ts (npm test's PostgreSQL for both bun test processes): it prints a URL that takes
// connections, and on SIGTERM stops the server and exits.
import { expect, test } from "bun:test";
import { join } from "node:path";
import postgres from "postgres";

test("prints the URL of a server that answers, and stops it on SIGTERM", async () => {
  const holder = Bun.spawn(["bun", join(import.meta.dir, "../../dev/test-postgres.ts")], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = holder.stdout.getReader();
  let printed = "";
  while (!printed.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    printed += new TextDecoder().decode(value);
  }
  const url = printed.trim();
  expect(url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  expect([...(await sql`select 1 as one`)]).toEqual([{ one: 1 }]);
  await sql.end();
  holder.kill("SIGTERM");
  expect(await holder.exited).toBe(0);
  const after = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  const refused = await after`select 1`.then(
    () => false,
    () => true,
  );
  await after.end({ timeout: 1 });
  expect(refused).toBe(true);
});
