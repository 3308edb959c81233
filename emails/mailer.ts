import { randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createTransport } from "nodemailer";
import { type AccountEmail, accountEmailLinks, renderAccountEmail } from "./render.ts";

export type { AccountEmail } from "./render.ts";

/** Minimal structured logger (pino-compatible: `log.info({ ... }, "message")`). */
export interface MailLog {
  info(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface Mailer {
  /** Renders and delivers the email. Rejects when delivery fails; the caller decides what to do. */
  send(email: AccountEmail): Promise<void>;
  /** Releases the SMTP connections (no-op in file mode). Idempotent. */
  close(): Promise<void>;
}

export interface MailerOptions {
  /** `smtp://host:port`, `smtps://user:pass@host:465`, ... When absent, mails are written to `mailDir`. */
  smtpUrl?: string;
  /** Sender, e.g. `Videoflix <noreply@videoflix.local>`. */
  from: string;
  /** Directory for `.eml` files when no `smtpUrl` is configured (created on demand). */
  mailDir: string;
  log: MailLog;
}

export function createMailer(options: MailerOptions): Mailer {
  return options.smtpUrl ? createSmtpMailer(options.smtpUrl, options) : createFileMailer(options);
}

/** Error details that are safe to log: no message content, no links, no credentials. */
function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: String(error) };
  const { code, responseCode, command } = error as Error & {
    code?: unknown;
    responseCode?: unknown;
    command?: unknown;
  };
  return { error: { name: error.name, message: error.message, code, responseCode, command } };
}

function createSmtpMailer(smtpUrl: string, options: MailerOptions): Mailer {
  const { from, log } = options;
  const transport = createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections: 3,
    // Fail reasonably fast instead of nodemailer's 2 minute default; the caller is usually a request handler.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  let closed = false;

  return {
    async send(email) {
      if (closed) throw new Error("Mailer is closed");
      const { kind, to } = email;
      try {
        const { subject, html, text } = await renderAccountEmail(email);
        const info = await transport.sendMail({ from, to, subject, html, text });
        // Never log the links here: they carry secret tokens.
        log.info({ kind, to, messageId: info.messageId }, "email sent");
      } catch (error) {
        log.error({ kind, to, ...errorFields(error) }, "email sending failed");
        throw error;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      transport.close();
    },
  };
}

function createFileMailer(options: MailerOptions): Mailer {
  const { from, mailDir, log } = options;
  const transport = createTransport({ streamTransport: true, buffer: true, newline: "windows" });

  return {
    async send(email) {
      const { kind, to } = email;
      try {
        const { subject, html, text } = await renderAccountEmail(email);
        const info = await transport.sendMail({ from, to, subject, html, text });
        const message = info.message;
        if (!Buffer.isBuffer(message)) throw new Error("nodemailer streamTransport did not return a buffer");
        await mkdir(mailDir, { recursive: true });
        // ISO timestamp with ":" replaced so the name is valid on every file system.
        const stamp = new Date().toISOString().replaceAll(":", "-");
        const file = join(mailDir, `${stamp}-${kind}-${randomUUID().slice(0, 8)}.eml`);
        await writeFile(file, message);
        // Dev mode only: log the links so they can be copied from the console.
        log.info(
          { kind, to, file, links: accountEmailLinks(email) },
          "email written to file (no SMTP server configured)",
        );
      } catch (error) {
        log.error({ kind, to, ...errorFields(error) }, "email writing failed");
        throw error;
      }
    },
    async close() {},
  };
}
