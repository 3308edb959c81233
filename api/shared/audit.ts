// Audit lines: one JSON log line per change an admin makes, with who did it and to what, so that an
// operator can answer "who deactivated this account" from the logs alone.
import type { Logger } from "pino";

/** Who made the change: the signed-in admin. */
export interface AuditActor {
  id: number;
  email: string;
}

export type AuditLog = (action: string, actor: AuditActor, details: Record<string, unknown>) => void;

/** `{"audit":"user.deactivated","actor_id":1,"actor_email":"…",…}` at info level, msg "admin action". */
export function auditLog(log: Logger): AuditLog {
  const audit = log.child({ component: "audit" });
  return (action, actor, details) =>
    audit.info({ audit: action, actor_id: actor.id, actor_email: actor.email, ...details }, "admin action");
}
