// The admin account routes the studio uses, over HTTP on the real runtime: search and keyset pages,
// last login through every client, activation, admin grants with their two guards (the last active
// admin, one's own account), a user's sessions, and the audit lines each change writes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { inArray, sql } from "drizzle-orm";
import { users } from "../../db/schema/index.ts";
import { ADMIN, ADMIN_ENV, adminClient } from "../support/admin.ts";
import { expectError } from "../support/assertions.ts";
import { DJOSER_ENV, DjoserClient } from "../support/djoser.ts";
import { eventually } from "../support/eventually.ts";
import {
  Client,
  createActiveUser,
  STRONG_PASSWORD,
  startTestApi,
  type TestApi,
  uniqueEmail,
} from "../support/test-api.ts";

interface AdminUser {
  id: number;
  email: string;
  is_active: boolean;
  is_admin: boolean;
  created_at: string;
  last_login_at: string | null;
}
interface UserPage {
  results: AdminUser[];
  next_after: number | null;
}

let api: TestApi;
let admin: Client;
let adminId: number;

beforeAll(async () => {
  api = await startTestApi({ ...ADMIN_ENV, ...DJOSER_ENV }, { captureLogs: true });
  admin = await adminClient(api);
  adminId = ((await (await admin.get("/api/me/")).json()) as { id: number }).id;
});

afterAll(async () => {
  await api?.stop();
});

const json = async <T>(response: Response, status = 200): Promise<T> => {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as T;
};
const list = async (query: string) => json<UserPage>(await admin.get(`/api/admin/users?${query}`));
const userOf = async (id: number) => json<AdminUser>(await admin.get(`/api/admin/users/${id}`));
const patch = (client: Client, id: number, body: unknown) =>
  client.request("PATCH", `/api/admin/users/${id}`, body);
const login = (email: string, password = STRONG_PASSWORD) =>
  new Client(api.url).post("/api/login/", { email, password });

/** An active account that has logged in: its id and a client holding its session. */
async function signedInUser(label = "user") {
  const account = await createActiveUser(api, uniqueEmail(label));
  const client = new Client(api.url);
  const answer = await json<{ user: { id: number } }>(await client.post("/api/login/", account));
  return { ...account, id: answer.user.id, client };
}

/** Rows straight into PostgreSQL (a login is not needed to be listed): `count` accounts tagged `tag`. */
async function seedUsers(tag: string, count: number): Promise<number[]> {
  const rows = Array.from({ length: count }, (_, index) => ({
    email: `${tag}-${String(index).padStart(4, "0")}@seed.example.com`,
    passwordHash: "not-a-hash",
    isActive: index % 3 !== 0,
  }));
  const inserted = await api.database.db.insert(users).values(rows).returning({ id: users.id });
  return inserted.map((row) => row.id);
}

/** Requests of the api waiting in PostgreSQL for the admins' rows (another transaction holds them). */
async function adminLockWaiters(): Promise<number> {
  const rows = (await api.database.db.execute(
    sql`select count(*)::int as count from pg_stat_activity
        where wait_event_type = 'Lock' and query ilike ${'select %from "users"%for update%'}`,
  )) as unknown as Array<{ count: number }>;
  return rows[0]!.count;
}

const auditLines = (action: string) => api.logs().filter((line) => line.audit === action);

describe("listing and searching", () => {
  test("keyset pages walk every match once, newest first, and filters combine with the search", async () => {
    const tag = `pages${crypto.randomUUID().slice(0, 6)}`;
    const ids = await seedUsers(tag, 230);
    const seen: number[] = [];
    let after: number | null = null;
    let pages = 0;
    do {
      const page: UserPage = await list(`q=${tag}&limit=50${after ? `&after=${after}` : ""}`);
      expect(page.results.length).toBeLessThanOrEqual(50);
      seen.push(...page.results.map((user) => user.id));
      after = page.next_after;
      pages++;
    } while (after !== null);
    expect(pages).toBe(5);
    expect(seen).toEqual([...ids].sort((a, b) => b - a));

    // Any part of the address, in any case; `_` is a literal character, not a wildcard.
    const one = await list(`q=${tag.toUpperCase()}-0042@SEED`);
    expect(one.results.map((user) => user.email)).toEqual([`${tag}-0042@seed.example.com`]);
    expect(one.next_after).toBeNull();
    expect((await list(`q=${tag}_0042`)).results).toEqual([]);

    const inactive = await list(`q=${tag}&is_active=false&limit=100`);
    expect(inactive.results).toHaveLength(77); // every third of 230
    expect(inactive.results.every((user) => !user.is_active && !user.is_admin)).toBe(true);
    expect((await list(`q=${tag}&is_admin=true`)).results).toEqual([]);
  });

  test("each account says active, admin, created and last login; the admin is found by filter", async () => {
    const admins = await list("is_admin=true");
    const me = admins.results.find((user) => user.id === adminId);
    expect(me).toMatchObject({ email: ADMIN.email, is_active: true, is_admin: true });
    expect(Date.parse(me!.created_at)).not.toBeNaN();
    expect(Date.parse(me!.last_login_at ?? "")).not.toBeNaN();
    expect(await userOf(adminId)).toEqual(me!);
  });

  test("bad queries are 400s; unknown ids 404; admins only", async () => {
    await expectError(await admin.get("/api/admin/users?limit=0"), 400);
    await expectError(await admin.get("/api/admin/users?limit=101"), 400);
    await expectError(await admin.get("/api/admin/users?after=abc"), 400);
    await expectError(await admin.get("/api/admin/users?after=99999999999"), 400);
    await expectError(await admin.get("/api/admin/users?is_admin=maybe"), 400);
    await expectError(await admin.get(`/api/admin/users?q=${"x".repeat(101)}`), 400);
    await expectError(await admin.get("/api/admin/users?q=a%00b"), 400);
    await expectError(await admin.get("/api/admin/users/2147483647"), 404);
    await expectError(await admin.get("/api/admin/users/2147483647/sessions"), 404);
    const viewer = await signedInUser("viewer");
    await expectError(await viewer.client.get("/api/admin/users"), 403);
    await expectError(await new Client(api.url).get("/api/admin/users"), 401);
  });
});

describe("last login", () => {
  test("set by a login of the course client and of a dialect, not by a failed one", async () => {
    const account = await createActiveUser(api, uniqueEmail("last-login"));
    const [row] = await api.database.db
      .select({ id: users.id })
      .from(users)
      .where(sql`${users.email} = ${account.email}`);
    const id = row!.id;
    expect((await userOf(id)).last_login_at).toBeNull();

    await expectError(await login(account.email, "wrong-password-123"), 400);
    expect((await userOf(id)).last_login_at).toBeNull();

    await json(await login(account.email));
    const first = (await userOf(id)).last_login_at;
    expect(first).not.toBeNull();

    // Back-date it, so a second login in the same millisecond still shows as a change.
    await api.database.db.execute(
      sql`UPDATE users SET last_login_at = last_login_at - interval '1 hour' WHERE id = ${id}`,
    );
    const backdated = (await userOf(id)).last_login_at!;
    await new DjoserClient(api).login(account.email, account.password);
    const second = (await userOf(id)).last_login_at!;
    expect(Date.parse(second)).toBeGreaterThan(Date.parse(backdated));
  });
});

describe("activation and admin rights", () => {
  test("deactivation ends the user's sessions at once and refuses logins; reactivation lets in", async () => {
    const user = await signedInUser("deactivated");
    expect((await user.client.get("/api/me/")).status).toBe(200);

    const off = await json<AdminUser>(await patch(admin, user.id, { is_active: false }));
    expect(off).toMatchObject({ id: user.id, email: user.email, is_active: false, is_admin: false });
    await expectError(await user.client.get("/api/me/"), 401);
    await expectError(await user.client.post("/api/token/refresh/"), 401);
    await expectError(await login(user.email), 400);
    expect(auditLines("user.deactivated")).toContainEqual(
      expect.objectContaining({ actor_id: adminId, actor_email: ADMIN.email, user_id: user.id }),
    );

    expect((await json<AdminUser>(await patch(admin, user.id, { is_active: true }))).is_active).toBe(true);
    await json(await login(user.email));
    expect(auditLines("user.activated")).toContainEqual(expect.objectContaining({ user_id: user.id }));
  });

  test("a granted admin gets the right at the next refresh; a revoked one loses it at once", async () => {
    const user = await signedInUser("promoted");
    await expectError(await user.client.get("/api/admin/users"), 403);
    const granted = await json<AdminUser>(await patch(admin, user.id, { is_admin: true }));
    expect(granted.is_admin).toBe(true);
    expect(auditLines("user.admin_granted")).toContainEqual(
      expect.objectContaining({ actor_id: adminId, user_id: user.id, user_email: user.email }),
    );
    expect((await user.client.post("/api/token/refresh/")).status).toBe(200);
    expect((await user.client.get("/api/admin/users")).status).toBe(200);

    const revoked = await json<AdminUser>(await patch(admin, user.id, { is_admin: false }));
    expect(revoked).toMatchObject({ is_admin: false, is_active: true });
    await expectError(await user.client.get("/api/admin/users"), 401);
    await expectError(await user.client.post("/api/token/refresh/"), 401);
    expect(auditLines("user.admin_revoked")).toContainEqual(expect.objectContaining({ user_id: user.id }));
    // The account itself stays usable, as a viewer.
    await json(await login(user.email));
  });

  test("your own account: 409 unless the request confirms it", async () => {
    const second = await signedInUser("second-admin");
    await json(await patch(admin, second.id, { is_admin: true }));
    await json(await second.client.post("/api/token/refresh/"));

    const refusal = await expectError(await patch(second.client, second.id, { is_admin: false }), 409);
    expect(refusal.body.reason).toBe("self");
    await expectError(await patch(second.client, second.id, { is_active: false }), 409);
    await expectError(await patch(second.client, second.id, { is_admin: false, confirm_self: false }), 409);
    expect((await userOf(second.id)).is_admin).toBe(true);

    const demoted = await json<AdminUser>(
      await patch(second.client, second.id, { is_admin: false, confirm_self: true }),
    );
    expect(demoted.is_admin).toBe(false);
    await expectError(await second.client.get("/api/me/"), 401);
  });

  test("the last active admin is never demoted nor deactivated; two admins demoting each other at once leave one", async () => {
    // Only the configured admin and one more remain active admins.
    await api.database.db
      .update(users)
      .set({ isAdmin: false })
      .where(sql`${users.isAdmin} and ${users.id} <> ${adminId}`);
    const other = await signedInUser("other-admin");
    await json(await patch(admin, other.id, { is_admin: true }));
    await json(await other.client.post("/api/token/refresh/"));

    // Each demotes the other at the same moment. A side transaction holds the admins' rows until both
    // changes, past sign-in, wait for them: a real overlap in the database, not one after the other.
    // Whichever takes the rows first wins; the other then no longer finds its actor among the active
    // admins (the winner's commit is re-read): 403 not_admin.
    const answers: Response[] = [];
    await api.database.db.transaction(async (tx) => {
      await tx.execute(sql`select id from users where is_admin and is_active order by id for update`);
      for (const [client, target] of [
        [admin, other.id],
        [other.client, adminId],
      ] as const) {
        void patch(client, target, { is_admin: false }).then((response) => answers.push(response));
      }
      await eventually("both demotions waiting for the admins' rows", async () =>
        answers.length === 0 && (await adminLockWaiters()) === 2 ? true : undefined,
      );
    });
    await eventually("both demotions answered", async () => (answers.length === 2 ? true : undefined));
    const [won, lost] = answers.sort((a, b) => a.status - b.status) as [Response, Response];
    expect(won.status).toBe(200);
    const refusal = await expectError(lost, 403);
    expect(refusal.body.reason).toBe("not_admin");
    const admins = await api.database.db
      .select({ id: users.id })
      .from(users)
      .where(sql`${users.isAdmin} and ${users.isActive}`);
    expect(admins).toHaveLength(1);

    // Whoever is left cannot remove themselves either, confirmed or not.
    const [{ id: lastId }] = admins as [{ id: number }];
    const last = lastId === adminId ? admin : other.client;
    for (const body of [{ is_admin: false }, { is_active: false }]) {
      const refusal = await expectError(await patch(last, lastId, { ...body, confirm_self: true }), 409);
      expect(refusal.body.reason).toBe("last_admin");
    }
    // Put the configured admin back for the other tests.
    await api.database.db
      .update(users)
      .set({ isAdmin: true, isActive: true })
      .where(inArray(users.id, [adminId]));
    admin = await adminClient(api);
  });

  test("an admin demoted after their grant was let in cannot grant: 403, nobody promoted", async () => {
    const actor = await signedInUser("demoted-actor");
    await json(await patch(admin, actor.id, { is_admin: true }));
    await json(await actor.client.post("/api/token/refresh/"));
    const candidate = await signedInUser("candidate");
    const { db } = api.database;
    // The demotion's transaction holds the actor's row while the grant (already past the admin check)
    // runs; it commits once the grant either waits for that row or has answered.
    let answer: Response | undefined;
    await db.transaction(async (tx) => {
      await tx.execute(sql`select id from users where id = ${actor.id} for update`);
      void patch(actor.client, candidate.id, { is_admin: true }).then((response) => {
        answer = response;
      });
      await eventually("the grant waiting for the admins' rows or answered", async () =>
        answer !== undefined ? true : (await adminLockWaiters()) > 0,
      );
      await tx.execute(sql`update users set is_admin = false where id = ${actor.id}`);
    });
    await eventually("the grant answered", async () => answer);
    expect((await expectError(answer!, 403)).body.reason).toBe("not_admin");
    expect((await userOf(candidate.id)).is_admin).toBe(false);
  });

  test("bad bodies are 400s and change nothing", async () => {
    const user = await signedInUser("bad-body");
    await expectError(await patch(admin, user.id, {}), 400);
    await expectError(await patch(admin, user.id, { is_admin: "yes" }), 400);
    await expectError(await patch(admin, user.id, { is_active: false, email: "x@example.com" }), 400);
    await expectError(
      await admin.request("PATCH", `/api/admin/users/${user.id}`, "{not json", {
        "content-type": "application/json",
      }),
      400,
    );
    await expectError(await patch(admin, 2147483647, { is_active: false }), 404);
    expect(await userOf(user.id)).toMatchObject({ is_active: true, is_admin: false });
    // A forged cross-site request carries the admin's cookies but cannot echo the csrftoken.
    const forged = admin.request(
      "PATCH",
      `/api/admin/users/${user.id}`,
      { is_admin: true },
      {
        "x-csrftoken": "forged",
      },
    );
    await expectError(await forged, 403);
    expect(await userOf(user.id)).toMatchObject({ is_active: true, is_admin: false });
  });
});

describe("a user's sessions", () => {
  test("listed for the admin; revoking all of them ends each one and writes an audit line", async () => {
    const user = await signedInUser("sessions");
    const laptop = new Client(api.url);
    await json(
      await laptop.post(
        "/api/login/",
        { email: user.email, password: user.password },
        { "user-agent": "Laptop/1.0" },
      ),
    );

    const sessions = await json<{ id: string; user_agent: string | null; ip: string | null }[]>(
      await admin.get(`/api/admin/users/${user.id}/sessions`),
    );
    expect(sessions).toHaveLength(2);
    expect(sessions.map((session) => session.user_agent)).toContain("Laptop/1.0");
    expect(sessions.map((session) => session.ip)).toContain(laptop.ip);

    expect((await admin.request("DELETE", `/api/admin/users/${user.id}/sessions`)).status).toBe(204);
    await expectError(await user.client.get("/api/me/"), 401);
    await expectError(await laptop.get("/api/me/"), 401);
    expect(await json<unknown[]>(await admin.get(`/api/admin/users/${user.id}/sessions`))).toEqual([]);
    expect(auditLines("user.sessions_revoked")).toContainEqual(
      expect.objectContaining({ actor_id: adminId, user_id: user.id }),
    );
    expect((await userOf(user.id)).is_active).toBe(true);
  });

  test("an admin demoted after their revoke was let in ends nobody's sessions: 403 not_admin", async () => {
    const actor = await signedInUser("demoted-revoker");
    await json(await patch(admin, actor.id, { is_admin: true }));
    await json(await actor.client.post("/api/token/refresh/"));
    const victim = await signedInUser("kept-sessions");
    // As for a grant: the demotion holds the actor's row while the revoke, past sign-in, runs.
    let answer: Response | undefined;
    await api.database.db.transaction(async (tx) => {
      await tx.execute(sql`select id from users where id = ${actor.id} for update`);
      void actor.client.request("DELETE", `/api/admin/users/${victim.id}/sessions`).then((response) => {
        answer = response;
      });
      await eventually("the revoke waiting for the admins' rows or answered", async () =>
        answer !== undefined ? true : (await adminLockWaiters()) > 0,
      );
      await tx.execute(sql`update users set is_admin = false where id = ${actor.id}`);
    });
    await eventually("the revoke answered", async () => answer);
    expect((await expectError(answer!, 403)).body.reason).toBe("not_admin");
    expect((await victim.client.get("/api/me/")).status).toBe(200);
  });
});
