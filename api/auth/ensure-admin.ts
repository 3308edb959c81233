import type { Database } from "../../db/client.ts";
import { byCanonicalEmail, users } from "../../db/schema/index.ts";
import { canonicalEmail } from "./email-address.ts";
import { hashPassword } from "./passwords.ts";

/**
 * Makes sure the configured admin exists, is active and is an admin. Idempotent; the password is only
 * set when the account is created, so a password the admin changed later is never overwritten.
 */
export async function ensureAdmin(
  db: Database,
  admin: { email: string; password: string },
): Promise<"created" | "kept"> {
  const email = canonicalEmail(admin.email);
  if (email === null) throw new Error(`the admin's email address is not an address: ${admin.email}`);
  const passwordHash = await hashPassword(admin.password);
  const [created] = await db
    .insert(users)
    .values({ email, passwordHash, isActive: true, isAdmin: true })
    .onConflictDoNothing()
    .returning({ id: users.id });
  if (created) return "created";
  await db.update(users).set({ isActive: true, isAdmin: true }).where(byCanonicalEmail(email));
  return "kept";
}
