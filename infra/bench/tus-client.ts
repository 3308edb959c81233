// The uploading side of `bun run bench:upload`'s tus runs, in a process of its own: signs in as the
// admin, then sends UPLOAD_BYTES (the same generated MP4 head and random filler as upload-client.ts)
// with tus-js-client in 8 MiB chunks, a JSON line `{accepted}` per chunk acknowledged, and last one
// JSON line like upload-client.ts does (status 202 once the last chunk's answer named the video). tus-js-client's requests go through fetch
// (dev/tus-fetch-stack.ts), as the multipart client's do; TUS_HTTP_STACK=node keeps its own node:http
// stack, which costs Bun a good part of the throughput (BENCHMARKS.md).
import { randomBytes } from "node:crypto";
import { Upload } from "tus-js-client";
import { Client } from "../../dev/browser-client.ts";
import { fetchHttpStack } from "../../dev/tus-fetch-stack.ts";
import { mp4Head } from "./mp4-head.ts";

const base = process.env.UPLOAD_URL ?? "";
const fileBytes = Number(process.env.UPLOAD_BYTES);
const admin = { email: process.env.ADMIN_EMAIL ?? "", password: process.env.ADMIN_PASSWORD ?? "" };
if (!base || !Number.isSafeInteger(fileBytes) || fileBytes < 64) {
  throw new Error("UPLOAD_URL, UPLOAD_BYTES, ADMIN_EMAIL and ADMIN_PASSWORD are required");
}
const CHUNK_BYTES = 8 * 1024 * 1024;

// The file in this process's memory (a tus client reads chunks of a file it holds): random 1 MiB blocks.
const file = Buffer.allocUnsafe(fileBytes);
const filler = randomBytes(1 << 20);
for (let offset = 0; offset < fileBytes; offset += filler.byteLength) filler.copy(file, offset);
file.set(mp4Head(fileBytes), 0);

const client = new Client(base);
const login = await client.post("/api/login/", admin);
if (login.status !== 200) throw new Error(`admin login failed: ${login.status} ${await login.text()}`);
// The bench's cue: the api's RSS from here on is the upload's (argon2id's 64 MiB of signing in is not).
console.log(JSON.stringify({ signedIn: true }));
const started = performance.now();
const videoId = await new Promise<string | null>((resolve, reject) => {
  let answered: string | null = null;
  const upload = new Upload(file, {
    endpoint: `${base}/api/uploads/`,
    chunkSize: CHUNK_BYTES,
    retryDelays: null,
    ...(process.env.TUS_HTTP_STACK === "node" ? {} : { httpStack: fetchHttpStack }),
    metadata: { title: `Bench tus upload ${fileBytes} bytes`, category: "Bench", filename: "bench.mp4" },
    headers: {
      cookie: [...client.cookies].map(([name, value]) => `${name}=${value}`).join("; "),
      "x-csrftoken": client.cookies.get("csrftoken") ?? "",
      "x-forwarded-for": client.ip,
    },
    // One line per acknowledged chunk: the bench reads the api's RSS at given offsets (after 256 MiB, …).
    onChunkComplete: (_size, accepted) => console.log(JSON.stringify({ accepted })),
    onAfterResponse: (_request, response) => {
      answered = response.getHeader("Video-Id") ?? answered;
    },
    onSuccess: () => resolve(answered),
    onError: reject,
  });
  upload.start();
});
const seconds = (performance.now() - started) / 1000;
console.log(
  JSON.stringify({ status: videoId ? 202 : 500, bytes: fileBytes, seconds, answer: `video ${videoId}` }),
);
