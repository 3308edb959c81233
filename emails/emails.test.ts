import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { type SmtpCapture, startSmtpCapture } from "../dev/smtp-capture.ts";
import { createMailer, type Mailer, type MailLog } from "./mailer.ts";
import { type AccountEmail, renderAccountEmail } from "./render.ts";

// Links with "&" (must survive HTML escaping) and long tokens (must survive line wrapping / QP encoding).
const token = "k7Qx9-Zr_Lp2mW8vN3bT5yH1cF6dJ0sA4eG-uI_oR2xV9nB7mK3qL8wE5tY1";
const activationLink = `https://videoflix.example/activate?uid=MTIz&token=${token}`;
const resetLink = `https://videoflix.example/password-reset/confirm?uid=MTIz&token=${token}`;
const loginLink = "https://videoflix.example/login";
const forgotLink = "https://videoflix.example/password-reset?source=account-exists&lang=en";

const emails = {
  activation: { kind: "activation", to: "new.user@example.com", link: activationLink },
  "password-reset": { kind: "password-reset", to: "user@example.com", link: resetLink },
  "account-exists": { kind: "account-exists", to: "user@example.com", loginLink, resetLink: forgotLink },
} satisfies Record<AccountEmail["kind"], AccountEmail>;

type LogEntry = { level: "info" | "error"; fields: Record<string, unknown>; message: string };
function memoryLog(): MailLog & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    info: (fields, message) => entries.push({ level: "info", fields, message }),
    error: (fields, message) => entries.push({ level: "error", fields, message }),
  };
}

describe("renderAccountEmail", () => {
  test("activation", async () => {
    const { subject, html, text } = await renderAccountEmail(emails.activation);
    expect(subject).toBe("Activate your Videoflix account");
    expect(html).toContain(`href="${activationLink.replaceAll("&", "&amp;")}"`);
    expect(html).toContain("Activate account");
    expect(text).toContain(activationLink);
    expect(text).toContain("24 hours");
    expect(text).toContain("Videoflix");
  });

  test("password reset", async () => {
    const { subject, html, text } = await renderAccountEmail(emails["password-reset"]);
    expect(subject).toBe("Reset your Videoflix password");
    expect(html).toContain(`href="${resetLink.replaceAll("&", "&amp;")}"`);
    expect(html).toContain("Reset password");
    expect(text).toContain(resetLink);
    expect(text).toContain("1 hour");
    expect(text).toMatch(/didn't ask/);
  });

  test("account exists", async () => {
    const { subject, html, text } = await renderAccountEmail(emails["account-exists"]);
    expect(subject).toBe("Your Videoflix account");
    expect(html).toContain(`href="${loginLink}"`);
    expect(html).toContain(`href="${forgotLink.replaceAll("&", "&amp;")}"`);
    expect(text).toContain(loginLink);
    expect(text).toContain(forgotLink);
    expect(text).toMatch(/already have an account/i);
    expect(`${html}\n${text}`).not.toMatch(/activat/i);
  });

  test("plain text has no HTML markup", async () => {
    for (const email of Object.values(emails)) {
      const { text } = await renderAccountEmail(email);
      expect(text).not.toMatch(/<[a-z]/i);
    }
  });
});

describe("createMailer over SMTP", () => {
  let capture: SmtpCapture;
  let mailer: Mailer;
  const log = memoryLog();
  const from = "Videoflix <noreply@videoflix.example>";

  beforeAll(async () => {
    capture = await startSmtpCapture();
    mailer = createMailer({ smtpUrl: capture.url, from, mailDir: "/nonexistent/never-used", log });
  });
  afterAll(async () => {
    await mailer.close();
    await capture.close();
  });
  beforeEach(() => {
    capture.clear();
    log.entries.length = 0;
  });

  test.each([
    ["activation", activationLink, "Activate your Videoflix account"],
    ["password-reset", resetLink, "Reset your Videoflix password"],
  ] as const)("%s mail arrives with the link in html and text", async (kind, link, subject) => {
    const email = emails[kind];
    await mailer.send(email);
    const mail = await capture.waitForMail((m) => m.to.includes(email.to));
    expect(mail.subject).toBe(subject);
    expect(mail.from).toBe("noreply@videoflix.example");
    expect(mail.links).toEqual([link]);
    expect(mail.text).toContain(link);
    expect(mail.html).toContain(`href="${link.replaceAll("&", "&amp;")}"`);

    // Secrets stay out of the logs in SMTP mode.
    expect(log.entries).toHaveLength(1);
    expect(log.entries[0]?.fields).toMatchObject({ kind, to: email.to });
    expect(log.entries[0]?.fields.messageId).toBeString();
    expect(JSON.stringify(log.entries)).not.toContain(token);
  });

  test("account-exists mail has login + reset links and no activation link", async () => {
    await mailer.send(emails["account-exists"]);
    const mail = await capture.waitForMail((m) => m.subject === "Your Videoflix account");
    expect(mail.to).toEqual(["user@example.com"]);
    expect(mail.links.toSorted()).toEqual([forgotLink, loginLink].toSorted());
    expect(mail.links.some((l) => l.includes("activate") || l.includes(token))).toBe(false);
    expect(mail.text).toContain(loginLink);
    expect(mail.text).toContain(forgotLink);
    expect(JSON.stringify(log.entries)).not.toContain("source=account-exists");
  });

  test("several mails in parallel through the pool", async () => {
    const recipients = Array.from({ length: 5 }, (_, i) => `user${i}@example.com`);
    await Promise.all(recipients.map((to) => mailer.send({ ...emails.activation, to })));
    expect(capture.mails.flatMap((m) => m.to).toSorted()).toEqual(recipients.toSorted());
  });

  test("waitForMail waits for mails that arrive later and times out clearly", async () => {
    const waiting = capture.waitForMail((m) => m.to.includes("late@example.com"), 2000);
    await mailer.send({ ...emails["password-reset"], to: "late@example.com" });
    expect((await waiting).links).toEqual([resetLink]);
    await expect(capture.waitForMail((m) => m.to.includes("nobody@example.com"), 50)).rejects.toThrow(
      /No matching mail arrived within 50 ms/,
    );
  });

  test("SMTP errors reject and are logged without secrets", async () => {
    const dead = await startSmtpCapture();
    const url = dead.url;
    await dead.close(); // nothing listens on this port any more
    const errorLog = memoryLog();
    const broken = createMailer({ smtpUrl: url, from, mailDir: "/nonexistent", log: errorLog });
    try {
      await expect(broken.send(emails.activation)).rejects.toThrow();
    } finally {
      await broken.close();
    }
    expect(errorLog.entries).toHaveLength(1);
    expect(errorLog.entries[0]).toMatchObject({ level: "error", fields: { kind: "activation" } });
    expect(JSON.stringify(errorLog.entries)).not.toContain(token);
  });

  test("send after close rejects", async () => {
    const closing = createMailer({ smtpUrl: capture.url, from, mailDir: "/nonexistent", log: memoryLog() });
    await closing.close();
    await expect(closing.send(emails.activation)).rejects.toThrow(/closed/);
  });
});

describe("createMailer without SMTP (file mode)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "videoflix-mails-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("writes a parseable .eml per mail and logs the link", async () => {
    const mailDir = join(dir, "nested", "mails"); // created on demand
    const log = memoryLog();
    const mailer = createMailer({ from: "Videoflix <noreply@videoflix.example>", mailDir, log });
    await mailer.send(emails.activation);
    await mailer.send(emails["account-exists"]);
    await mailer.close();

    const files = (await readdir(mailDir)).toSorted();
    expect(files).toHaveLength(2);
    for (const file of files)
      expect(file).toMatch(/^\d{4}-\d\d-\d\dT[\d-]+\.\d{3}Z-[a-z-]+-[0-9a-f]{8}\.eml$/);
    const activationFile = files.find((f) => f.includes("-activation-"));
    expect(activationFile).toBeDefined();

    const raw = await readFile(join(mailDir, activationFile!));
    expect(raw.includes("\r\n")).toBe(true);
    const parsed = await simpleParser(raw);
    expect(parsed.subject).toBe("Activate your Videoflix account");
    expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.text : undefined).toBe("new.user@example.com");
    expect(parsed.from?.value[0]?.address).toBe("noreply@videoflix.example");
    expect(parsed.text).toContain(activationLink);
    expect(parsed.html || "").toContain(activationLink.replaceAll("&", "&amp;"));

    expect(log.entries).toHaveLength(2);
    expect(log.entries[0]).toMatchObject({
      level: "info",
      fields: {
        kind: "activation",
        to: "new.user@example.com",
        file: join(mailDir, activationFile!),
        links: [activationLink],
      },
    });
    expect(log.entries[1]?.fields).toMatchObject({ kind: "account-exists", links: [loginLink, forgotLink] });
  });

  test("a write failure rejects and is logged", async () => {
    const log = memoryLog();
    const blocker = join(dir, "not-a-dir");
    await Bun.write(blocker, "x");
    const mailer = createMailer({ from: "noreply@videoflix.example", mailDir: join(blocker, "mails"), log });
    await expect(mailer.send(emails["password-reset"])).rejects.toThrow();
    expect(log.entries[0]?.level).toBe("error");
  });
});
