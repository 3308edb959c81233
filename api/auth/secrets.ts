import { createHash, randomBytes } from "node:crypto";

/** A random secret for links and cookies; only its hash is stored. */
export const newSecret = () => randomBytes(32).toString("base64url");

export const hashSecret = (secret: string) => createHash("sha256").update(secret).digest("hex");

/** Django-style `uidb64`: the user id in URL-safe base64, as the Videoflix clients pass it around. */
export const encodeUid = (userId: number) => Buffer.from(String(userId)).toString("base64url");

export function decodeUid(uidb64: string): number | null {
  if (!/^[A-Za-z0-9_-]{1,16}$/.test(uidb64)) return null;
  const decoded = Buffer.from(uidb64, "base64url").toString("utf8");
  if (!/^[1-9]\d{0,9}$/.test(decoded)) return null;
  const id = Number(decoded);
  return id <= 2_147_483_647 ? id : null;
}
