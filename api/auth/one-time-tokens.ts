// Emailed one-time links (activation, password reset): random secrets of which only the hash is
// stored, usable once, until they expire.
import { and, eq, gt, isNull } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { type OneTimeTokenPurpose, oneTimeTokens } from "../../db/schema/index.ts";
import type { Clock } from "../shared/clock.ts";
import { hashSecret, newSecret } from "./secrets.ts";

export class OneTimeTokens {
  constructor(private readonly deps: { db: Database; clock: Clock }) {}

  /** A new token for the user; the secret goes into the link, its hash into the database. */
  async create(userId: number, purpose: OneTimeTokenPurpose, ttlSeconds: number): Promise<string> {
    const token = newSecret();
    await this.deps.db.insert(oneTimeTokens).values({
      userId,
      purpose,
      tokenHash: hashSecret(token),
      expiresAt: new Date(this.deps.clock.now().getTime() + ttlSeconds * 1000),
    });
    return token;
  }

  /** Ends every unused token of that purpose (a new reset link replaces the earlier ones). */
  async revokeUnused(userId: number, purpose: OneTimeTokenPurpose): Promise<void> {
    await this.deps.db
      .update(oneTimeTokens)
      .set({ usedAt: this.deps.clock.now() })
      .where(
        and(
          eq(oneTimeTokens.userId, userId),
          eq(oneTimeTokens.purpose, purpose),
          isNull(oneTimeTokens.usedAt),
        ),
      );
  }

  async isUsable(userId: number, token: string, purpose: OneTimeTokenPurpose): Promise<boolean> {
    const [row] = await this.deps.db
      .select({ id: oneTimeTokens.id })
      .from(oneTimeTokens)
      .where(this.usable(userId, token, purpose));
    return row !== undefined;
  }

  /** Marks a usable token used in one statement, so two concurrent uses cannot both succeed. */
  async consume(
    tx: Pick<Database, "update">,
    userId: number,
    token: string,
    purpose: OneTimeTokenPurpose,
  ): Promise<boolean> {
    const consumed = await tx
      .update(oneTimeTokens)
      .set({ usedAt: this.deps.clock.now() })
      .where(this.usable(userId, token, purpose))
      .returning({ id: oneTimeTokens.id });
    return consumed.length === 1;
  }

  private usable(userId: number, token: string, purpose: OneTimeTokenPurpose) {
    return and(
      eq(oneTimeTokens.userId, userId),
      eq(oneTimeTokens.tokenHash, hashSecret(token.slice(0, 256))),
      eq(oneTimeTokens.purpose, purpose),
      isNull(oneTimeTokens.usedAt),
      gt(oneTimeTokens.expiresAt, this.deps.clock.now()),
    );
  }
}
