// `bun run bench:library`: the studio's library listing (GET /api/admin/videos) over 10,000 videos. Each
// query's median time over BENCH_ROUNDS requests, against the baseline measured in the same run: the
// whole list without `limit` (what the route answered before it had pages). Keyset pages should cost
// the same on page 1 and page 400, and a small fraction of the whole list.
import { sql } from "drizzle-orm";
import { Client } from "../../dev/browser-client.ts";
import { startBenchApi } from "./bench-api.ts";
import { median } from "./wrk.ts";

const VIDEOS = Number(process.env.BENCH_VIDEOS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const ADMIN = { email: "bench-admin@videoflix.test", password: "Bench-admin-passphrase-0042" };

const bench = await startBenchApi({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
try {
  const { db } = bench.runtime.database;
  // Ten categories, videos in every state, created a second apart, titles that sort differently.
  await db.execute(sql`insert into categories (name) select 'Category ' || n from generate_series(1, 10) n`);
  await db.execute(sql`
    insert into videos (title, description, category_id, processing_state, source_key, source_bytes, created_at)
    select 'Video ' || md5(n::text), 'Description of video ' || n,
           (select id from categories order by id limit 1 offset (n % 10)),
           (array['pending', 'processing', 'ready', 'error'])[1 + n % 4]::processing_state,
           'sources/bench-' || n, 1000, now() - n * interval '1 second'
    from generate_series(1, ${VIDEOS}) n`);
  await db.execute(sql`analyze videos`);
  bench.runtime.app.listen({ hostname: "127.0.0.1", port: 0 });
  const admin = new Client(`http://127.0.0.1:${bench.runtime.app.server!.port}`);
  const login = await admin.post("/api/login/", ADMIN);
  if (login.status !== 200) throw new Error(`login failed: ${login.status}`);

  const timed = async (path: string): Promise<number> => {
    const samples: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const started = performance.now();
      const response = await admin.get(path);
      if (response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
      samples.push(performance.now() - started);
    }
    return median(samples);
  };

  // The cursor of page 400 (of 25), followed page by page as the studio would.
  let deepCursor = "";
  for (let page = 1; page < 400; page++) {
    const response = await admin.get(
      `/api/admin/videos?limit=25${deepCursor ? `&cursor=${deepCursor}` : ""}`,
    );
    deepCursor = encodeURIComponent(((await response.json()) as { next_cursor: string }).next_cursor);
  }

  const baseline = await timed("/api/admin/videos");
  const cases: Array<[string, string]> = [
    ["page 1, newest", "/api/admin/videos?limit=25"],
    ["page 400, newest", `/api/admin/videos?limit=25&cursor=${deepCursor}`],
    ["page 1, title A-Z", "/api/admin/videos?limit=25&sort=title"],
    ["page 1, oldest", "/api/admin/videos?limit=25&sort=oldest"],
    ["state=error", "/api/admin/videos?limit=25&state=error"],
    ["category by name", "/api/admin/videos?limit=25&category=category%207"],
    ["search q=abc", "/api/admin/videos?limit=25&q=abc"],
  ];
  console.log(`${VIDEOS} videos, median of ${ROUNDS} requests each`);
  console.log(`baseline: the whole list (no limit)  ${baseline.toFixed(1)} ms`);
  for (const [name, path] of cases) {
    const ms = await timed(path);
    console.log(
      `${name.padEnd(34)} ${ms.toFixed(1).padStart(7)} ms   ${((ms / baseline) * 100).toFixed(1)}% of the whole list`,
    );
  }
} finally {
  await bench.stop();
}
