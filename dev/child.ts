// One process of the local stack: spawned in a session of its own, its output handed line by line to
// a sink, stopped with a grace period and then, with everything it left in its process group, killed.
import { type Subprocess, spawn } from "bun";
import type { LineSink } from "./output.ts";

// setpriv(1) execs in place (the pid stays the child's): it switches to the child's account and sets
// PR_SET_PDEATHSIG, so a child whose supervisor died without stopping it (SIGKILL, OOM, a killed
// launcher) gets SIGTERM and stops as it would on request, instead of running on unwatched.
const SETPRIV = process.platform === "linux" ? Bun.which("setpriv") : null;

export interface ChildSpec {
  /** How the stack names it in messages and log prefixes: api, transcoder-1, edge, redis. */
  name: string;
  command: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  /** The signal that asks it to finish what it has in flight (default SIGTERM). */
  stopSignal?: NodeJS.Signals;
  /** The unprivileged account it runs as (uid, gid and that account's groups); unset: the supervisor's. */
  account?: { uid: number; gid: number } | null;
}

/** The argv that starts `spec`: through setpriv where there is one (always with an account). */
export function launchCommand(spec: ChildSpec): string[] {
  if (!SETPRIV) {
    if (spec.account) throw new Error(`${spec.name}: switching accounts needs setpriv (util-linux, Linux)`);
    return spec.command;
  }
  const { account } = spec;
  const switchTo = account ? [`--reuid=${account.uid}`, `--regid=${account.gid}`, "--init-groups"] : [];
  return [SETPRIV, ...switchTo, "--pdeathsig", "TERM", "--", ...spec.command];
}

export class SupervisedChild {
  readonly name: string;
  readonly exited: Promise<number>;
  private readonly process: Subprocess<"ignore", "pipe", "pipe">;
  private readonly drained: Promise<void>;

  constructor(
    private readonly spec: ChildSpec,
    sink: LineSink,
  ) {
    this.name = spec.name;
    sink.start?.(spec.name);
    // A session of its own: a Ctrl-C in the terminal reaches only the supervisor, which then stops
    // the children in order instead of all of them at once.
    this.process = spawn(launchCommand(spec), {
      cwd: spec.cwd,
      env: spec.env,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      detached: true,
    });
    this.drained = Promise.all([
      forwardLines(this.process.stdout, (line) => sink.line(spec.name, line)),
      forwardLines(this.process.stderr, (line) => sink.line(spec.name, line)),
    ]).then(() => {});
    this.exited = this.process.exited.then((code) => {
      this.killGroup();
      return code;
    });
  }

  get pid(): number {
    return this.process.pid;
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Asks it to stop, waits up to `graceMs`, then kills it; resolves once it and its output are gone. */
  async stop(graceMs: number): Promise<{ code: number; killed: boolean }> {
    let killed = false;
    if (this.running) {
      this.process.kill(this.spec.stopSignal ?? "SIGTERM");
      const inTime = await Promise.race([this.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
      if (!inTime) {
        killed = true;
        this.process.kill("SIGKILL");
      }
    }
    const code = await this.exited;
    await this.drained;
    return { code, killed };
  }

  // Whatever it started and left behind (nginx under the edge, ffmpeg under a transcoder) shares its
  // process group: nothing of the stack may outlive it.
  private killGroup(): void {
    try {
      process.kill(-this.process.pid, "SIGKILL");
    } catch {
      // The group is already empty.
    }
  }
}

async function forwardLines(stream: ReadableStream<Uint8Array>, emit: (line: string) => void) {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) emit(line);
  }
  pending += decoder.decode();
  if (pending) emit(pending);
}
