import { dictionary } from "@zxcvbn-ts/language-common";

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

let commonPasswords: Set<string> | undefined;

/** ~18k common passwords of 8+ characters (zxcvbn's list), loaded on first use. */
function isCommonPassword(password: string): boolean {
  commonPasswords ??= new Set(
    (dictionary["passwords-common"] as string[]).filter((entry) => entry.length >= PASSWORD_MIN_LENGTH),
  );
  return commonPasswords.has(password.toLowerCase());
}

/** The reasons a new password is refused, as messages for the client; empty when it is acceptable. */
export function passwordProblems(password: string, email?: string): string[] {
  const problems: string[] = [];
  if (password.length < PASSWORD_MIN_LENGTH) {
    problems.push(`This password is too short. It must contain at least ${PASSWORD_MIN_LENGTH} characters.`);
  }
  if (password.length > PASSWORD_MAX_LENGTH) {
    problems.push(`This password is too long. It must contain at most ${PASSWORD_MAX_LENGTH} characters.`);
  }
  if (password.length >= PASSWORD_MIN_LENGTH && isCommonPassword(password)) {
    problems.push("This password is too common.");
  }
  if (email && password.toLowerCase() === email.toLowerCase()) {
    problems.push("The password is too similar to the email address.");
  }
  return problems;
}

export const hashPassword = (password: string) => Bun.password.hash(password, { algorithm: "argon2id" });

export const verifyPassword = (password: string, hash: string) => Bun.password.verify(password, hash);

// Unknown emails are checked against this hash so that a failed login takes as long either way.
let decoyHash: Promise<string> | undefined;
export function verifyAgainstDecoy(password: string): Promise<boolean> {
  decoyHash ??= hashPassword(crypto.randomUUID());
  return decoyHash.then((hash) => verifyPassword(password, hash)).then(() => false);
}
