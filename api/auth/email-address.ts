// The one canonical form of an email address, used for storage, lookups, rate limits and delivery:
// NFKC (so compatibility variants such as full-width letters are one address), then lower-cased.
// Lookups compare the stored canonical value itself, never PostgreSQL's lower(), whose case mapping
// differs from JavaScript's for some characters (lower('İ') is 'i', 'İ'.toLowerCase() is 'i̇').

// RFC 5321 dot-atom local part (ASCII atext, no quoted strings, comments or lists), lower-case since
// it is matched against the canonical form; domain labels of letters, digits and hyphens.
const ATEXT = "[a-z0-9!#$%&'*+/=?^_`{|}~-]+";
const LABEL = "[\\p{L}\\p{M}\\p{N}](?:[\\p{L}\\p{M}\\p{N}-]*[\\p{L}\\p{M}\\p{N}])?";
const ADDRESS = new RegExp(`^(?<local>${ATEXT}(?:\\.${ATEXT})*)@${LABEL}(?:\\.${LABEL})+$`, "u");
// PostgreSQL text cannot hold NUL (a query carrying one fails), and no address has control characters
// or lone UTF-16 surrogates (which would be stored as U+FFFD, another address than the one given).
const CONTROL_CHARACTER = /\p{Cc}/u;
const MAX_LENGTH = 254;
const MAX_LOCAL_LENGTH = 64;

export const INVALID_EMAIL = "Enter a valid email address.";

/**
 * The canonical form of what a client typed, or null when it cannot be an address at all (too long,
 * control characters, lone surrogates). Not a validity check: the configured admin's address (e.g.
 * admin@localhost) must still be found by a login.
 */
export function canonicalEmail(typed: string): string | null {
  const trimmed = typed.trim();
  if (trimmed.length > MAX_LENGTH || !trimmed.isWellFormed() || CONTROL_CHARACTER.test(trimmed)) return null;
  const canonical = trimmed.normalize("NFKC").toLowerCase();
  return canonical.length > MAX_LENGTH || CONTROL_CHARACTER.test(canonical) ? null : canonical;
}

/** Whether a canonical address may be registered (and mailed): a dot-atom local part and a domain. */
export function isRegistrableEmail(canonical: string): boolean {
  const match = ADDRESS.exec(canonical);
  return match !== null && (match.groups?.local?.length ?? 0) <= MAX_LOCAL_LENGTH;
}
