// Finds the activation link the api mailed to a new account, where the deployment delivers mail in
// development: .eml files in MAIL_DIR (the api's file mailer when SMTP_URL is unset) or a Mailpit
// inbox (MAILPIT_URL, its REST API). Nothing in the product is bypassed: the seed follows the link
// exactly as the account's owner would.
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { simpleParser } from "mailparser";

export type MailSource = { kind: "dir"; dir: string } | { kind: "mailpit"; url: string };

export interface ActivationLink {
  uid: string;
  token: string;
}

/** The uid and token of the first activation link in a mail's text. */
function activationIn(text: string): ActivationLink | null {
  for (const match of text.matchAll(/https?:\/\/[^\s"'<>]+/g)) {
    try {
      const link = new URL(match[0].replace(/&amp;/g, "&"));
      const uid = link.searchParams.get("uid");
      const token = link.searchParams.get("token");
      if (uid && token) return { uid, token };
    } catch {}
  }
  return null;
}

async function fromDir(dir: string, email: string, sinceMs: number): Promise<ActivationLink | null> {
  const names = await readdir(dir).catch(() => [] as string[]);
  // Newest first: the file names start with an ISO time stamp.
  for (const name of names
    .filter((n) => n.includes("-activation-") && n.endsWith(".eml"))
    .sort()
    .reverse()) {
    const path = join(dir, name);
    if ((await stat(path)).mtimeMs < sinceMs - 1000) break;
    const mail = await simpleParser(await readFile(path));
    const to = [mail.to ?? []]
      .flat()
      .flatMap((address) => address.value.map((v) => v.address?.toLowerCase()));
    if (!to.includes(email.toLowerCase())) continue;
    const link = activationIn(mail.text ?? "") ?? activationIn(String(mail.html || ""));
    if (link) return link;
  }
  return null;
}

async function fromMailpit(url: string, email: string, sinceMs: number): Promise<ActivationLink | null> {
  const query = encodeURIComponent(`to:"${email}" subject:Activate`);
  const search = await fetch(`${url}/api/v1/search?query=${query}&limit=5`);
  if (!search.ok) throw new Error(`Mailpit search answered ${search.status}`);
  const { messages = [] } = (await search.json()) as { messages?: Array<{ ID: string; Created: string }> };
  for (const message of messages) {
    if (Date.parse(message.Created) < sinceMs - 1000) continue;
    const response = await fetch(`${url}/api/v1/message/${message.ID}`);
    if (!response.ok) continue;
    const body = (await response.json()) as { Text?: string; HTML?: string };
    const link = activationIn(body.Text ?? "") ?? activationIn(body.HTML ?? "");
    if (link) return link;
  }
  return null;
}

/** Waits (mails are sent after the api answered) for the activation mail sent to `email` since `sinceMs`. */
export async function waitForActivation(
  source: MailSource,
  email: string,
  sinceMs: number,
  timeoutMs = 30_000,
): Promise<ActivationLink> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const link =
      source.kind === "dir"
        ? await fromDir(source.dir, email, sinceMs)
        : await fromMailpit(source.url, email, sinceMs);
    if (link) return link;
    await Bun.sleep(250);
  }
  const where = source.kind === "dir" ? `.eml files in ${source.dir}` : `Mailpit at ${source.url}`;
  throw new Error(
    `no activation mail for ${email} within ${timeoutMs / 1000} s in ${where} (is that where the api delivers mail? set MAIL_DIR or MAILPIT_URL)`,
  );
}
