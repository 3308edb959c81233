// FFmpeg children must not outlive their worker: a transcoder killed with SIGKILL would otherwise
// leave FFmpeg running, burning CPU and writing into a staging directory another replica now owns.
// On Linux, setpriv(1) sets PR_SET_PDEATHSIG before exec, so the kernel kills the child with us.

const setpriv = process.platform === "linux" ? Bun.which("setpriv") : null;

/** argv, prefixed so that the process dies when this one does (where the platform allows it). */
export function tiedToThisProcess(argv: string[]): string[] {
  return setpriv ? [setpriv, "--pdeathsig", "KILL", "--", ...argv] : argv;
}
