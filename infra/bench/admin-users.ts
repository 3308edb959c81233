// `bun run bench:admin-users`: the studio's user list among many accounts (BENCH_USERS, default
// 200,000): the first page, a deep page, a rare and a common search term, each through the api
// (GET /api/admin/users), with the trigram index on the addresses and, as the same run's baseline,
// without it. Prints medians and the ratio baseline / indexed. Goal: a search page stays in the
// milliseconds and well ahead of the scan the index replaces; the keyset pages (which never use that
// index: their ratio stays near 1) cost the same deep down as on the first page.
import { sql } from "drizzle-orm";
import { users } from "../../db/schema/index.ts";
import { startBenchApi } from "./bench-api.ts";

const USERS = Number(process.env.BENCH_USERS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
/** How deep the deep page starts: 95 % of the way down the newest-first list. */
const DEEP = Math.floor(USERS * 0.95);
const ADMIN = { email: "bench-admin@videoflix.test", password: "Bench-admin-passphrase-01" };

// Seeding statements run long on a shared machine (the trigram index grows with every batch).
const bench = await startBenchApi({
  ADMIN_EMAIL: ADMIN.email,
  ADMIN_PASSWORD: ADMIN.password,
  DATABASE_QUERY_TIMEOUT_MS: "120000",
});
const { runtime } = bench;
// Requests go through app.handle; listening only lets the runtime stop the server as it always does.
runtime.app.listen({ hostname: "127.0.0.1", port: 0 });
const db = runtime.database.db;

// A failed run stops its throwaway PostgreSQL and Redis all the same.
try {
  process.stdout.write(`seeding ${USERS.toLocaleString("en")} accounts… `);
  // In batches: one statement for them all would outlast the pool's statement timeout.
  const BATCH = 20_000;
  for (let from = 1; from <= USERS; from += BATCH) {
    const to = Math.min(USERS, from + BATCH - 1);
    await db.execute(sql`
      INSERT INTO users (email, password_hash, is_active)
      SELECT 'viewer' || n || '-' || md5(n::text) || '@example' || (n % 50) || '.com', 'x', n % 7 <> 0
      FROM generate_series(${from}::int, ${to}::int) AS n`);
  }
  await db.execute(sql`ANALYZE users`);
  const [{ rare } = { rare: "" }] = (await db.execute(
    sql`SELECT substr(md5('12345'), 3, 8) AS rare`,
  )) as unknown as { rare: string }[];
  const [{ maxId } = { maxId: 0 }] = await db
    .select({ maxId: sql<number>`max(${users.id})::int` })
    .from(users);
  console.log("done");

  const login = await runtime.app.handle(
    new Request("http://localhost/api/login/", {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": "10.9.9.9" },
      body: JSON.stringify(ADMIN),
    }),
  );
  const cookie = login.headers
    .getSetCookie()
    .map((line) => line.split(";")[0])
    .join("; ");

  const cases: Record<string, string> = {
    "first page": "limit=50",
    [`deep page (after the ${DEEP.toLocaleString("en")}th)`]: `limit=50&after=${Math.max(1, maxId - DEEP)}`,
    "rare term (1 match)": `q=${rare}&limit=50`,
    "common term (example7.com)": "q=example7.com&limit=50",
    "no match": "q=nobody-has-this-address&limit=50",
  };

  async function timeOnce(query: string): Promise<number> {
    const started = performance.now();
    const response = await runtime.app.handle(
      new Request(`http://localhost/api/admin/users?${query}`, { headers: { cookie } }),
    );
    if (response.status !== 200) throw new Error(`${query}: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
    return performance.now() - started;
  }

  async function medians(): Promise<Record<string, number>> {
    const result: Record<string, number> = {};
    for (const [name, query] of Object.entries(cases)) {
      await timeOnce(query); // warm
      const times: number[] = [];
      for (let round = 0; round < ROUNDS; round++) times.push(await timeOnce(query));
      times.sort((a, b) => a - b);
      result[name] = times[Math.floor(times.length / 2)]!;
    }
    return result;
  }

  await medians(); // a whole pass to warm the JIT and PostgreSQL's caches: the first one measured runs hot too
  const indexed = await medians();
  await db.execute(sql`DROP INDEX users_email_trgm`);
  const scanned = await medians();

  console.log(`\nGET /api/admin/users, ${USERS.toLocaleString("en")} accounts, median of ${ROUNDS} (ms)`);
  console.log("case                               with index   without   without / with");
  for (const name of Object.keys(cases)) {
    const a = indexed[name]!;
    const b = scanned[name]!;
    console.log(
      `${name.padEnd(34)} ${a.toFixed(2).padStart(10)} ${b.toFixed(2).padStart(9)} ${(b / a).toFixed(1).padStart(10)}×`,
    );
  }
} finally {
  await bench.stop();
}
