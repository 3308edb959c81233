// `bun run transcode <file> <out-dir> [--preset veryfast] [--segment 6] [--hwaccel none|nvenc|cuda-decode|auto]`
// The worker's pipeline on one local file, with a progress bar and a summary (cli/command.ts); this
// entry gives it the process's streams, and SIGINT or SIGTERM stop the run cleanly.
import { runTranscodeCommand } from "./cli/command.ts";

const interrupted = new AbortController();
const interrupt = () => interrupted.abort(new Error("interrupted"));
process.on("SIGINT", interrupt);
process.on("SIGTERM", interrupt);

process.exit(
  await runTranscodeCommand(Bun.argv.slice(2), {
    out: (text) => console.log(text),
    err: process.stderr,
    signal: interrupted.signal,
  }),
);
