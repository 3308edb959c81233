import { t } from "elysia";

// Bodies are loose on purpose: the Videoflix clients send extra fields, and field rules (email format,
// password policy) are checked by the service so that every problem comes back as a field message.
const text = (description: string, example: string) =>
  t.String({ maxLength: 1024, description, examples: [example] });

export const AuthModel = {
  me: t.Object({ id: t.Integer(), email: t.String(), is_admin: t.Boolean() }),
  registerBody: t.Object(
    {
      email: text("Email address; also the username", "ann@example.com"),
      password: text("8 to 128 characters, not a common password", "correct horse battery"),
      confirmed_password: text("Must equal `password`", "correct horse battery"),
    },
    { additionalProperties: true },
  ),
  loginBody: t.Object(
    {
      email: text("Email address", "ann@example.com"),
      password: text("Password", "correct horse battery"),
    },
    { additionalProperties: true },
  ),
  passwordResetBody: t.Object(
    { email: text("Email address of the account", "ann@example.com") },
    {
      additionalProperties: true,
    },
  ),
  passwordConfirmBody: t.Object(
    {
      new_password: text("The new password", "a much better passphrase"),
      confirm_password: text("Must equal `new_password`", "a much better passphrase"),
    },
    { additionalProperties: true },
  ),
  detail: t.Object({ detail: t.String() }, { examples: [{ detail: "Token refreshed" }] }),
  message: t.Object({ message: t.String() }, { examples: [{ message: "Account successfully activated." }] }),
  sessionParams: t.Object({
    id: t.String({ format: "uuid", description: "A session id from GET /api/sessions/" }),
  }),
  session: t.Object(
    {
      id: t.String({ format: "uuid" }),
      created_at: t.String({ format: "date-time", description: "The login that started the session" }),
      last_used_at: t.String({ format: "date-time", description: "Its last login or refresh" }),
      user_agent: t.Nullable(t.String()),
      ip: t.Nullable(t.String({ description: "The client address of its last login or refresh" })),
      current: t.Boolean({ description: "The session of this request's access token" }),
    },
    {
      examples: [
        {
          id: "0b7e5a52-58d4-4f3c-9d7e-2b1f0c3a9e11",
          created_at: "2026-12-01T09:00:00.000Z",
          last_used_at: "2026-12-01T11:30:00.000Z",
          user_agent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
          ip: "203.0.113.7",
          current: true,
        },
      ],
    },
  ),
  accountStatusBody: t.Object(
    { is_active: t.Boolean({ description: "false deactivates the account and ends its sessions" }) },
    { additionalProperties: false },
  ),
  accountStatus: t.Object({ id: t.Integer(), email: t.String(), is_active: t.Boolean() }),
  loginResponse: t.Object(
    {
      detail: t.String(),
      user: t.Object({ id: t.Integer(), username: t.String({ description: "The account's email" }) }),
    },
    { examples: [{ detail: "Login successful", user: { id: 1, username: "ann@example.com" } }] },
  ),
} as const;
