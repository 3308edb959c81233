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
  loginResponse: t.Object(
    {
      detail: t.String(),
      user: t.Object({ id: t.Integer(), username: t.String({ description: "The account's email" }) }),
    },
    { examples: [{ detail: "Login successful", user: { id: 1, username: "ann@example.com" } }] },
  ),
} as const;
