/**
 * In-process SMTP server (tests, benchmarks, and the local stack when asked for): accepts every mail (no auth, no TLS) on 127.0.0.1 and keeps it parsed
 * in memory. Point the app at `capture.url` and use `waitForMail` to pick up activation / reset links.
 */
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

export interface CapturedMail {
  /** Envelope recipients (RCPT TO). */
  to: string[];
  /** Envelope sender (MAIL FROM). */
  from: string;
  subject: string;
  html: string;
  text: string;
  /** Every http(s) URL in the text part and every href of the html part, entities decoded, deduplicated. */
  links: string[];
}

export interface SmtpCapture {
  /** `smtp://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Captured mails, oldest first. */
  mails: CapturedMail[];
  /** Resolves with the first captured mail (already received or arriving later) matching `predicate`. */
  waitForMail(predicate: (m: CapturedMail) => boolean, timeoutMs?: number): Promise<CapturedMail>;
  clear(): void;
  close(): Promise<void>;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

function decodeEntities(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (match, entity: string) => {
    if (entity[0] === "#") {
      const code =
        entity[1] === "x" || entity[1] === "X"
          ? Number.parseInt(entity.slice(2), 16)
          : Number.parseInt(entity.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : match;
    }
    return ENTITIES[entity.toLowerCase()] ?? match;
  });
}

/** Extracts http(s) links from a plain text part and the hrefs of an html part. */
export function extractLinks(text: string, html: string): string[] {
  const links = new Set<string>();
  for (const match of text.matchAll(/https?:\/\/[^\s<>"'\]]+/gi)) {
    // A URL at the end of a sentence: drop trailing punctuation that is not part of it.
    links.add(match[0].replace(/[.,;:!?)]+$/, ""));
  }
  for (const match of html.matchAll(/\shref\s*=\s*(?:"([^"]*)"|'([^']*)')/gi)) {
    const href = decodeEntities(match[1] ?? match[2] ?? "").trim();
    if (/^https?:\/\//i.test(href)) links.add(href);
  }
  return [...links];
}

export async function startSmtpCapture(): Promise<SmtpCapture> {
  const mails: CapturedMail[] = [];
  const listeners = new Set<(mail: CapturedMail) => void>();

  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    // Do not wait 30 s for pooled client connections when the test closes the server.
    closeTimeout: 100,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          const html = typeof parsed.html === "string" ? parsed.html : "";
          const text = parsed.text ?? "";
          const mail: CapturedMail = {
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            subject: parsed.subject ?? "",
            html,
            text,
            links: extractLinks(text, html),
          };
          mails.push(mail);
          for (const listener of listeners) listener(mail);
          // Acknowledge only after the mail is stored, so a resolved sendMail() means it is in `mails`.
          callback();
        })
        .catch((error: unknown) => callback(error instanceof Error ? error : new Error(String(error))));
    },
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      const address = server.server.address();
      if (address && typeof address === "object") resolve(address.port);
      else reject(new Error("SMTP capture server has no port"));
    });
  });

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    mails,
    waitForMail(predicate, timeoutMs = 5000) {
      const existing = mails.find(predicate);
      if (existing) return Promise.resolve(existing);
      return new Promise<CapturedMail>((resolve, reject) => {
        const settle = () => {
          clearTimeout(timer);
          listeners.delete(listener);
        };
        const listener = (mail: CapturedMail) => {
          try {
            if (!predicate(mail)) return;
          } catch (error) {
            settle();
            reject(error);
            return;
          }
          settle();
          resolve(mail);
        };
        const timer = setTimeout(() => {
          listeners.delete(listener);
          const seen = mails.map((m) => `${m.to.join(",")}: ${m.subject}`).join("; ") || "none";
          reject(new Error(`No matching mail arrived within ${timeoutMs} ms (captured: ${seen})`));
        }, timeoutMs);
        listeners.add(listener);
      });
    },
    clear() {
      mails.length = 0;
    },
    close() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
