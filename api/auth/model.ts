import { t } from "elysia";

// Bodies are loose on purpose: the Videoflix clients send extra fields, and field rules (email format,
// password policy) are checked by the service so that every problem comes back as a field message.
const text = (description: string, example: string) =>
  t.String({ maxLength: 1024, description, examples: [example] });

const adminUser = t.Object(
  {
    id: t.Integer(),
    email: t.String(),
    is_active: t.Boolean({ description: "May sign in (false: not activated yet, or deactivated)" }),
    is_admin: t.Boolean(),
    created_at: t.String({ format: "date-time" }),
    last_login_at: t.Nullable(
      t.String({ format: "date-time", description: "The last successful login, through any client" }),
    ),
  },
  {
    examples: [
      {
        id: 7,
        email: "ann@example.com",
        is_active: true,
        is_admin: false,
        created_at: "2026-11-24T08:00:00.000Z",
        last_login_at: "2026-12-01T09:00:00.000Z",
      },
    ],
  },
);

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
  accountChangeBody: t.Object(
    {
      is_active: t.Optional(
        t.Boolean({ description: "false deactivates the account and ends its sessions at once" }),
      ),
      is_admin: t.Optional(
        t.Boolean({
          description:
            "true grants admin (from the user's next refresh or login); false revokes it and ends the user's sessions at once",
        }),
      ),
      confirm_self: t.Optional(
        t.Boolean({ description: "Required (true) to deactivate or demote your own account" }),
      ),
    },
    { additionalProperties: false },
  ),
  adminUser,
  userPage: t.Object({
    results: t.Array(adminUser),
    next_after: t.Nullable(t.Integer({ description: "Pass as `after` for the next page; null: last page" })),
  }),
  userListQuery: t.Object({
    q: t.Optional(
      t.String({
        maxLength: 100,
        description: "Part of the email address, any case; `%` and `_` are literal",
      }),
    ),
    is_admin: t.Optional(t.Boolean({ description: "Only admins (true) or only non-admins (false)" })),
    is_active: t.Optional(t.Boolean({ description: "Only active (true) or only inactive (false) accounts" })),
    limit: t.Optional(t.Integer({ minimum: 1, maximum: 100, default: 50 })),
    after: t.Optional(
      t.Integer({ minimum: 1, maximum: 2147483647, description: "`next_after` of the previous page" }),
    ),
  }),
  adminSession: t.Object({
    id: t.String({ format: "uuid" }),
    created_at: t.String({ format: "date-time" }),
    last_used_at: t.String({ format: "date-time", description: "Its last login or refresh" }),
    user_agent: t.Nullable(t.String()),
    ip: t.Nullable(t.String()),
  }),
  loginResponse: t.Object(
    {
      detail: t.String(),
      user: t.Object({ id: t.Integer(), username: t.String({ description: "The account's email" }) }),
    },
    { examples: [{ detail: "Login successful", user: { id: 1, username: "ann@example.com" } }] },
  ),
} as const;
