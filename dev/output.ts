// Where the children's output goes: the terminal with each line prefixed by its child's name
// (`npm run up`), one log file per child (the load-test stack), or memory (the supervisor's tests).
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { join } from "node:path";

export interface LineSink {
  /** A child started (its log file exists from then on, even if it never writes a line). */
  start?(child: string): void;
  line(child: string, text: string): void;
  /** Flushes and closes whatever the sink holds open. */
  close(): Promise<void>;
}

/** `api          | {"level":30,…}`: names padded so the lines of different children align. */
export function prefixedConsole(width = 13, write = (text: string) => process.stdout.write(text)): LineSink {
  return {
    line: (child, text) => void write(`${child.padEnd(width)}| ${text}\n`),
    close: async () => {},
  };
}

export function logFiles(dir: string): LineSink {
  mkdirSync(dir, { recursive: true });
  const files = new Map<string, WriteStream>();
  const fileOf = (child: string) => {
    let file = files.get(child);
    if (!file) {
      file = createWriteStream(join(dir, `${child}.log`), { flags: "a" });
      files.set(child, file);
    }
    return file;
  };
  return {
    start: (child) => void fileOf(child),
    line: (child, text) => void fileOf(child).write(`${text}\n`),
    async close() {
      await Promise.all([...files.values()].map((file) => new Promise((done) => file.end(done))));
      files.clear();
    },
  };
}

export interface MemorySink extends LineSink {
  lines: Array<{ child: string; text: string }>;
  of(child: string): string[];
}

export function memorySink(): MemorySink {
  const lines: Array<{ child: string; text: string }> = [];
  return {
    lines,
    line: (child, text) => void lines.push({ child, text }),
    of: (child) => lines.filter((entry) => entry.child === child).map((entry) => entry.text),
    close: async () => {},
  };
}
