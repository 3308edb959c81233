// Running FFmpeg and ffprobe: a deadline, cancellation that escalates from SIGTERM to SIGKILL, and a
// bounded tail of stderr (FFmpeg can write megabytes of warnings on a damaged file).

// FFmpeg children must not outlive their worker: a transcoder killed with SIGKILL would otherwise
// leave FFmpeg running, burning CPU and writing into a staging directory another replica now owns.
// On Linux, setpriv(1) sets PR_SET_PDEATHSIG before exec, so the kernel kills the child with us.
const setpriv = process.platform === "linux" ? Bun.which("setpriv") : null;

/** argv, prefixed so that the process dies when this one does (where the platform allows it). */
function tiedToThisProcess(argv: string[]): string[] {
  return setpriv ? [setpriv, "--pdeathsig", "KILL", "--", ...argv] : argv;
}

/** Polled while a process runs: a reason to stop it now (it then ends `timedOut`), or null. */
export interface RunWatchdog {
  overdue(nowMs: number): string | null;
}

/** How often a watchdog is asked. */
const WATCHDOG_POLL_MS = 250;

export interface RunOptions {
  /** Kill the process after this long (SIGTERM, then SIGKILL after `killGraceMs`). */
  timeoutMs?: number;
  /** A deadline that moves with the run (encode-deadline.ts); stops it like `timeoutMs` does. */
  watchdog?: RunWatchdog;
  signal?: AbortSignal;
  killGraceMs?: number;
  /** Called with every stdout chunk as it arrives; when given, `stdout` in the result stays empty. */
  onStdout?: (chunk: string) => void;
  /** Bytes of stderr kept (the end of it). */
  stderrLimit?: number;
  /** The folder the process runs in (relative paths in argv are read from there). */
  cwd?: string;
}

export interface RunResult {
  exitCode: number | null;
  /** Set when the process was killed by a signal instead of exiting. */
  signalCode: string | null;
  stdout: string;
  /** The last `stderrLimit` bytes of stderr. */
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
}

const DEFAULT_STDERR_LIMIT = 64 * 1024;

export async function runProcess(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const { timeoutMs, signal, watchdog, killGraceMs = 3000, onStdout } = options;
  const stderrLimit = options.stderrLimit ?? DEFAULT_STDERR_LIMIT;
  if (signal?.aborted) {
    return { exitCode: null, signalCode: null, stdout: "", stderr: "", timedOut: false, aborted: true };
  }
  // Tied to this process: a worker killed outright must not leave FFmpeg running on its own.
  const child = Bun.spawn(tiedToThisProcess([...argv]), {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  let timedOut = false;
  let aborted = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    killTimer ??= setTimeout(() => child.kill("SIGKILL"), killGraceMs);
  };
  const onAbort = () => {
    aborted = true;
    stop();
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  const deadline =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          stop();
        }, timeoutMs);
  const watching =
    watchdog &&
    setInterval(() => {
      if (timedOut || watchdog.overdue(Date.now()) === null) return;
      timedOut = true;
      stop();
    }, WATCHDOG_POLL_MS);

  const [stdout, stderr] = await Promise.all([
    readText(child.stdout, onStdout),
    readTail(child.stderr, stderrLimit),
    child.exited,
  ]);
  clearTimeout(deadline);
  clearInterval(watching);
  clearTimeout(killTimer);
  signal?.removeEventListener("abort", onAbort);
  return {
    exitCode: child.exitCode,
    signalCode: child.signalCode === null ? null : String(child.signalCode),
    stdout,
    stderr,
    timedOut,
    aborted,
  };
}

async function readText(
  stream: ReadableStream<Uint8Array>,
  onChunk?: (chunk: string) => void,
): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const bytes of stream) {
    const chunk = decoder.decode(bytes, { stream: true });
    if (onChunk) onChunk(chunk);
    else text += chunk;
  }
  return text;
}

async function readTail(stream: ReadableStream<Uint8Array>, limit: number): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const bytes of stream) {
    text += decoder.decode(bytes, { stream: true });
    if (text.length > 2 * limit) text = text.slice(-limit);
  }
  return text.slice(-limit);
}

/** The last line of FFmpeg's stderr that says something (not its "Conversion failed!" epilogue). */
export function lastMeaningfulLine(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !/^(Conversion failed!|Exiting normally|frame=|size=)/.test(line));
  const line = lines.at(-1) ?? "no error output";
  return line.length > 240 ? `${line.slice(0, 237)}...` : line;
}

/** What an aborted step rejects with: the signal's reason (an AbortError unless the caller gave one). */
export function cancelled(signal: AbortSignal | undefined): unknown {
  return signal?.reason ?? new DOMException("transcoding was cancelled", "AbortError");
}
