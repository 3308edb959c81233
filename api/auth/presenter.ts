import type { AuthModel } from "./model.ts";
import type { ActiveSession } from "./sessions.ts";
import type { AdminUser } from "./user-admin.ts";

/** An account as the admins see it. */
export const presentAdminUser = (user: AdminUser): typeof AuthModel.adminUser.static => ({
  id: user.id,
  email: user.email,
  is_active: user.isActive,
  is_admin: user.isAdmin,
  created_at: user.createdAt.toISOString(),
  last_login_at: user.lastLoginAt?.toISOString() ?? null,
});

/** One of a user's sessions as an admin sees it (GET /api/sessions/ without `current`). */
export const presentSession = (session: ActiveSession): typeof AuthModel.adminSession.static => ({
  id: session.id,
  created_at: session.createdAt.toISOString(),
  last_used_at: session.lastUsedAt.toISOString(),
  user_agent: session.userAgent,
  ip: session.ip,
});
