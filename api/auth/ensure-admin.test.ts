import { afterAll, beforeAll, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { type DatabaseHandle, openDatabase } from "../../db/client.ts";
import { users } from "../../db/schema/index.ts";
import { createTestDatabase } from "../../dev/services.ts";
import { ensureAdmin } from "./ensure-admin.ts";
import { hashPassword } from "./passwords.ts";

let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
let database: DatabaseHandle;

beforeAll(async () => {
  testDb = await createTestDatabase();
  database = await openDatabase({ url: testDb.url, pgliteDir: "unused", poolSize: 2 });
  await database.migrate();
});

afterAll(async () => {
  await database?.close();
  await testDb?.drop();
});

const findByEmail = async (email: string) => {
  const rows = await database.db.select().from(users).where(sql`lower(${users.email}) = lower(${email})`);
  return rows;
};

test("creates an active admin once, then keeps it without touching the password", async () => {
  const email = "admin@example.com";
  expect(await ensureAdmin(database.db, { email, password: "first-admin-password" })).toBe("created");
  const [created, ...others] = await findByEmail(email);
  expect(others).toHaveLength(0);
  expect(created).toMatchObject({ email, isActive: true, isAdmin: true });
  expect(await Bun.password.verify("first-admin-password", created!.passwordHash)).toBe(true);

  expect(await ensureAdmin(database.db, { email, password: "second-admin-password" })).toBe("kept");
  const [kept, ...duplicates] = await findByEmail(email);
  expect(duplicates).toHaveLength(0);
  expect(kept!.id).toBe(created!.id);
  expect(kept!.passwordHash).toBe(created!.passwordHash);
  expect(await Bun.password.verify("first-admin-password", kept!.passwordHash)).toBe(true);
  expect(await Bun.password.verify("second-admin-password", kept!.passwordHash)).toBe(false);
});

test("a demoted or deactivated admin is restored on the next start", async () => {
  const email = "restored-admin@example.com";
  await ensureAdmin(database.db, { email, password: "restored-admin-password" });
  await database.db.update(users).set({ isActive: false, isAdmin: false }).where(eq(users.email, email));
  expect(await ensureAdmin(database.db, { email, password: "restored-admin-password" })).toBe("kept");
  const [row] = await findByEmail(email);
  expect(row).toMatchObject({ isActive: true, isAdmin: true });
});

test("an existing inactive user with the email in another letter case is promoted, not duplicated", async () => {
  const userHash = await hashPassword("the-users-own-password");
  const [existing] = await database.db
    .insert(users)
    .values({ email: "boss@example.com", passwordHash: userHash })
    .returning();
  expect(existing).toMatchObject({ isActive: false, isAdmin: false });
  const bystander = await database.db
    .insert(users)
    .values({ email: "bystander@example.com", passwordHash: userHash })
    .returning();

  expect(
    await ensureAdmin(database.db, { email: "Boss@Example.COM", password: "config-admin-password" }),
  ).toBe("kept");
  const rows = await findByEmail("boss@example.com");
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({
    id: existing!.id,
    email: "boss@example.com",
    isActive: true,
    isAdmin: true,
  });
  expect(rows[0]!.passwordHash).toBe(userHash);
  // Nobody else was promoted.
  const [other] = await findByEmail("bystander@example.com");
  expect(other).toMatchObject({ id: bystander[0]!.id, isActive: false, isAdmin: false });
});
