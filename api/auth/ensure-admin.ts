import { sql } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { users } from "../../db/schema/index.ts";
import { hashPassword } from "./passwords.ts";

/**
 * Makes sure the configured admin exists, is active and is an admin. Idempotent; the password is only
 * set when the account is created, so a password the admin changed later is never overwritten.
 */
export async function ensureAdmin(
  db: Database,
  admin: { email: string; password: string },
): Promise<"created" | "kept"> {
  const passwordHash = await hashPassword(admin.password);
  const [created] = await db
    .insert(users)
    .values({ email: admin.email, passwordHash, isActive: true, isAdmin: true })
    .onConflictDoNothing()
    .returning({ id: users.id });
  if (created) return "created";
  await db
    .update(users)
    .set({ isActive: true, isAdmin: true })
    .where(sql`lower(${users.email}) = lower(${admin.email})`);
  return "kept";
}
