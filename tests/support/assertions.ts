// Assertions shared by the api tests: the one JSON error shape of the Videoflix contract, and a few
// helpers to pull links out of captured mails.
import { expect } from "bun:test";
import type { CapturedMail } from "../../dev/smtp-capture.ts";

/** Read as strings and lists; a count (an integer, such as `video_count`) passes the shape check too. */
export type ErrorBody = Record<string, string | string[]>;

/** True when `value` is a non-empty object whose values are all strings, integers (counts) or lists of strings. */
export function isErrorShape(value: unknown): value is ErrorBody {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  return (
    entries.length > 0 &&
    entries.every(
      ([, inner]) =>
        typeof inner === "string" ||
        Number.isInteger(inner) ||
        (Array.isArray(inner) && inner.length > 0 && inner.every((item) => typeof item === "string")),
    )
  );
}

/**
 * Asserts an error answer: the expected status (never a 500), a JSON content type and a body in the
 * error shape. Returns the parsed body and its exact text (for byte-for-byte comparisons).
 */
export async function expectError(
  response: Response,
  status: number,
): Promise<{ body: ErrorBody; text: string }> {
  const text = await response.text();
  expect(response.status, `unexpected status, body: ${text}`).toBe(status);
  expect(response.headers.get("content-type") ?? "").toStartWith("application/json");
  const body = JSON.parse(text) as unknown;
  expect(isErrorShape(body), `not the error shape: ${text}`).toBe(true);
  return { body: body as ErrorBody, text };
}

/** Asserts a 4xx JSON error of any status in `allowed`; for inputs where more than one is fair. */
export async function expectClientError(response: Response, allowed: number[]): Promise<ErrorBody> {
  expect(allowed).toContain(response.status);
  return (await expectError(response, response.status)).body;
}

/** `uid` and `token` of an emailed link. */
export function linkParts(link: string): { uid: string; token: string } {
  const url = new URL(link);
  return { uid: url.searchParams.get("uid") ?? "", token: url.searchParams.get("token") ?? "" };
}

/** The only link of `mail` that starts with `prefix`. */
export function linkStartingWith(mail: CapturedMail, prefix: string): string {
  const links = mail.links.filter((link) => link.startsWith(prefix));
  expect(links, `links of "${mail.subject}": ${mail.links.join(", ")}`).toHaveLength(1);
  return links[0] as string;
}

export const ACTIVATION_PREFIX = "http://frontend.test/pages/auth/activate.html?";
export const RESET_PREFIX = "http://frontend.test/pages/auth/confirm_password.html?";
