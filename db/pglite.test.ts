// The zero-setup database: embedded PGlite runs the same migrations and serves the real app.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import pino from "pino";
import { loadConfig } from "../api/config/load.ts";
import { startApiRuntime } from "../api/runtime.ts";
import { testRedisUrl } from "../dev/services.ts";
import { startSmtpCapture } from "../dev/smtp-capture.ts";
import { createMailer } from "../emails/mailer.ts";
import { Client, STRONG_PASSWORD, TEST_JWT_SECRET, uniqueEmail } from "../tests/support/test-api.ts";
import { type DatabaseHandle, MIGRATIONS_FOLDER, openDatabase } from "./client.ts";
import { users } from "./schema/index.ts";

const MIGRATION_COUNT = (
  JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, "meta/_journal.json"), "utf8")) as { entries: unknown[] }
).entries.length;

async function appliedMigrations(database: DatabaseHandle): Promise<number> {
  const rows = await database.db.execute<{ n: number }>(
    sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
  );
  // PGlite answers { rows }, postgres.js an array: read either.
  const first = (Array.isArray(rows) ? rows[0] : (rows as { rows: { n: number }[] }).rows[0]) as {
    n: number;
  };
  return first.n;
}

let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), "vf-pglite-"));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

test("migrations run twice on a directory database, and data survives close → reopen", async () => {
  const first = await openDatabase({ url: null, pgliteDir: join(dataDir, "db") });
  expect(first.kind).toBe("pglite");
  await first.migrate();
  await first.migrate();
  expect(await appliedMigrations(first)).toBe(MIGRATION_COUNT);
  await first.db.insert(users).values({ email: "kept@example.com", passwordHash: "x" });
  await first.close();

  const again = await openDatabase({ url: null, pgliteDir: join(dataDir, "db") });
  try {
    await again.migrate();
    expect(await appliedMigrations(again)).toBe(MIGRATION_COUNT);
    const rows = await again.db.select({ email: users.email }).from(users);
    expect(rows).toEqual([{ email: "kept@example.com" }]);
  } finally {
    await again.close();
  }
}, 30_000); // PGlite boots a WebAssembly PostgreSQL: seconds on a busy 2-core machine

test("the real app on in-memory PGlite: register → activate → login → /api/me/", async () => {
  const [redisUrl, smtp] = await Promise.all([testRedisUrl(), startSmtpCapture()]);
  const config = loadConfig({
    NODE_ENV: "test",
    REDIS_URL: redisUrl,
    SMTP_URL: smtp.url,
    JWT_SECRET: TEST_JWT_SECRET,
    FRONTEND_URL: "http://frontend.test",
    TRUST_PROXY: "true",
    PGLITE_DIR: "memory://",
    MEDIA_ROOT: mkdtempSync(join(tmpdir(), "vf-pglite-media-")),
  });
  expect(config.databaseUrl).toBeNull();
  const log = pino({ level: "silent" });
  const mailer = createMailer({ smtpUrl: smtp.url, from: config.mailFrom, mailDir: config.mailDir, log });
  const runtime = await startApiRuntime({ config, log, mailer, consumeEvents: false });
  const { database, app } = runtime;
  try {
    expect(database.kind).toBe("pglite");
    await database.migrate();
    expect(await appliedMigrations(database)).toBe(MIGRATION_COUNT);

    app.listen({ hostname: "127.0.0.1", port: 0 });
    {
      const browser = new Client(`http://127.0.0.1:${app.server!.port}`);
      // A random client address: rate-limit counters in a shared Redis outlive this run.
      const ip = {
        "x-forwarded-for": `10.${[1, 2, 3].map(() => Math.floor(Math.random() * 256)).join(".")}`,
      };
      const email = uniqueEmail("pglite");

      const registered = await browser.post(
        "/api/register/",
        { email, password: STRONG_PASSWORD, confirmed_password: STRONG_PASSWORD },
        ip,
      );
      expect(registered.status).toBe(201);
      const mail = await smtp.waitForMail((m) => m.to.includes(email));
      const link = new URL(mail.links.find((l) => l.includes("activate"))!);
      const activated = await browser.get(
        `/api/activate/${link.searchParams.get("uid")}/${link.searchParams.get("token")}/`,
        ip,
      );
      expect(activated.status).toBe(200);

      expect((await browser.get("/api/me/", ip)).status).toBe(401);
      const login = await browser.post("/api/login/", { email, password: STRONG_PASSWORD }, ip);
      expect(login.status).toBe(200);
      const me = await browser.get("/api/me/", ip);
      expect(me.status).toBe(200);
      expect(await me.json()).toEqual({ id: expect.any(Number), email, is_admin: false });

      const [row] = await database.db
        .select({ isActive: users.isActive, lastLoginAt: users.lastLoginAt })
        .from(users)
        .where(sql`${users.email} = ${email}`);
      expect(row?.isActive).toBe(true);
      expect(row?.lastLoginAt).toBeInstanceOf(Date);
    }
  } finally {
    await runtime.stop();
    await smtp.close();
    rmSync(config.mediaRoot, { recursive: true, force: true });
  }
}, 30_000);
