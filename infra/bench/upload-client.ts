// The uploading side of `bun run bench:storage` part 3, in a process of its own: signs in as the admin,
// then streams one multipart `POST /api/admin/videos` of UPLOAD_BYTES generated on the fly (an MP4
// `ftyp` box and an `mdat` header, so the upload sniff accepts it, then random filler), with a
// content-length, and prints one JSON line: status, bytes sent, seconds, the api's answer.
import { randomBytes } from "node:crypto";
import { Client } from "../../dev/browser-client.ts";
import { mp4Head } from "./mp4-head.ts";

const base = process.env.UPLOAD_URL ?? "";
const fileBytes = Number(process.env.UPLOAD_BYTES);
const admin = { email: process.env.ADMIN_EMAIL ?? "", password: process.env.ADMIN_PASSWORD ?? "" };
if (!base || !Number.isSafeInteger(fileBytes) || fileBytes < 64) {
  throw new Error("UPLOAD_URL, UPLOAD_BYTES, ADMIN_EMAIL and ADMIN_PASSWORD are required");
}

const CHUNK = 1 << 20;
const boundary = `----vf-bench-${crypto.randomUUID()}`;
const encoder = new TextEncoder();
const field = (name: string, value: string) =>
  `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
const preamble = encoder.encode(
  `${field("title", `Bench upload ${fileBytes} bytes`)}${field("category", "Bench")}` +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.mp4"\r\n` +
    "Content-Type: video/mp4\r\n\r\n",
);
const closing = encoder.encode(`\r\n--${boundary}--\r\n`);

// Random, so that no store can compress or deduplicate its way out of writing it.
const filler = randomBytes(CHUNK);
let sent = 0;
const body = new ReadableStream<Uint8Array>({
  start(controller) {
    controller.enqueue(preamble);
    const head = mp4Head(fileBytes);
    controller.enqueue(head);
    sent = head.byteLength;
  },
  pull(controller) {
    if (sent >= fileBytes) {
      controller.enqueue(closing);
      controller.close();
      return;
    }
    const size = Math.min(CHUNK, fileBytes - sent);
    controller.enqueue(new Uint8Array(filler.subarray(0, size)));
    sent += size;
  },
});

const client = new Client(base);
const login = await client.post("/api/login/", admin);
if (login.status !== 200) throw new Error(`admin login failed: ${login.status} ${await login.text()}`);
// The bench's cue: the api's RSS from here on is the upload's (argon2id's 64 MiB of signing in is not).
console.log(JSON.stringify({ signedIn: true }));
const started = performance.now();
const response = await fetch(`${base}/api/admin/videos`, {
  method: "POST",
  body,
  duplex: "half",
  headers: {
    "content-type": `multipart/form-data; boundary=${boundary}`,
    "content-length": String(preamble.byteLength + fileBytes + closing.byteLength),
    cookie: [...client.cookies].map(([name, value]) => `${name}=${value}`).join("; "),
    "x-csrftoken": client.cookies.get("csrftoken") ?? "",
    "x-forwarded-for": client.ip,
  },
} as RequestInit);
const answer = await response.text();
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ status: response.status, bytes: sent, seconds, answer: answer.slice(0, 500) }));
