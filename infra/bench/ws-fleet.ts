// The client side of `bun run bench:websocket`: a fleet of WebSocket clients that each subscribe to all
// uploads (welcome → subscribe → subscribed) and note the wall-clock arrival time of every
// `video.progress` tick, whose sequence number travels as its `id`. Either one Go process
// (infra/bench/ws-clients, built on demand) or this file's `--client` mode in several Bun processes.
//
// Arrival times are performance.timeOrigin + performance.now() (Go: time.Now()), sub-millisecond and
// shared across processes on one machine, so the publisher's send times can be subtracted from them.
import { availableParallelism } from "node:os";
import { AccessTokens } from "../../api/auth/session.ts";

const nowMs = () => performance.timeOrigin + performance.now();

/**
 * CPU pinning (BENCH_PIN, default on with 2+ CPUs and util-linux's taskset; BENCH_PIN=0 turns it off):
 * the server process on CPU 0, the client fleet on the others, as if the clients were other machines.
 * Left floating, the clients' thousands of reads preempt the server's sends on its own core; Redis, the
 * kernel's loopback work and everything else still float.
 */
export const PIN =
  process.env.BENCH_PIN !== "0" && availableParallelism() >= 2 && Bun.which("taskset") !== null;
export const CLIENT_CPUS = availableParallelism() > 2 ? `1-${availableParallelism() - 1}` : "1";

export function pin(pid: number, cpus: string): void {
  if (!PIN) return;
  // -a: every thread of the process, those it starts later inherit it.
  const result = Bun.spawnSync(["taskset", "-a", "-p", "-c", cpus, String(pid)], { stdout: "ignore" });
  if (result.exitCode !== 0) throw new Error(`taskset -c ${cpus} ${pid} failed: ${result.stderr.toString()}`);
}
const pinClients = (pid: number) => pin(pid, CLIENT_CPUS);

export interface FleetReport {
  /** Per client, arrival time (epoch ms) of tick 1..ticks at its index; 0 when it never came. */
  arrivals: number[][];
  /** Sockets that were closed by the end. */
  lost: number;
}

export interface Fleet {
  ready: Promise<{ open: number; failed: number }>;
  report(): Promise<FleetReport>;
  stop(): Promise<void>;
}

/** Admin sessions (progress goes to admins), one user each, signed as the login route signs them. */
export async function adminCookies(secret: string, from: number, count: number): Promise<string[]> {
  const tokens = new AccessTokens(secret, 3600);
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const id = 1_000_000 + from + i;
      return `access_token=${await tokens.sign({ id, email: `bench-${id}@example.com`, isAdmin: true, sessionId: crypto.randomUUID(), userEpoch: 0 })}`;
    }),
  );
}

const root = `${import.meta.dir}/../..`;
const goBinary = `${root}/var/tools/bin/ws-clients`;

/** Builds infra/bench/ws-clients (its own Go module); Go itself comes from infra/lib/go-tools.sh when missing. */
export function buildGoFleet(): void {
  const build = Bun.spawnSync(
    [
      "bash",
      "-c",
      `for lib in output packages go-tools; do . "${root}/infra/lib/$lib.sh"; done && ensure_go && "$(go_binary)" build -o "${goBinary}" .`,
    ],
    {
      cwd: `${import.meta.dir}/ws-clients`,
      stdout: "inherit",
      stderr: "inherit",
      env: { ...process.env, GOFLAGS: "-mod=mod", GOTOOLCHAIN: "auto" },
    },
  );
  if (build.exitCode !== 0) throw new Error("building infra/bench/ws-clients failed");
}

/** The default client fleet: ws-clients (Go, one process, goroutines on the netpoller); buildGoFleet first. */
export async function goFleet(url: string, cookies: string[], ticks: number): Promise<Fleet> {
  const configPath = `${root}/var/tools/ws-clients-config.json`;
  await Bun.write(configPath, JSON.stringify({ url, cookies, ticks }));
  const child = Bun.spawn([goBinary, configPath], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  pinClients(child.pid);
  const lines = (async function* () {
    let buffered = "";
    for await (const chunk of child.stdout) {
      buffered += new TextDecoder().decode(chunk);
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        yield buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf("\n");
      }
    }
  })();
  const nextLine = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`ws-clients exited (${await child.exited}) before answering`);
    return value;
  };
  const ready = nextLine().then((line) => {
    const [word, open, failed] = line.split(" ");
    if (word !== "ready") throw new Error(`ws-clients: unexpected "${line}"`);
    return { open: Number(open), failed: Number(failed) };
  });
  return {
    ready,
    async report() {
      child.stdin.write("report\n");
      await child.stdin.flush();
      return JSON.parse(await nextLine()) as FleetReport;
    },
    async stop() {
      child.kill();
      await child.exited;
    },
  };
}

/** The JavaScript client fleet (BENCH_CLIENT_IMPL=bun): this file's `--client` mode in several processes. */
export function bunFleets(
  url: string,
  secret: string,
  clients: number,
  processes: number,
  ticks: number,
): Fleet[] {
  const share = Math.ceil(clients / processes);
  return Array.from({ length: processes }, (_, p) => {
    const from = p * share;
    const count = Math.min(share, clients - from);
    let onMessage: (message: { kind: string; [key: string]: unknown }) => void = () => {};
    const child = Bun.spawn({
      cmd: [
        process.execPath,
        import.meta.path,
        "--client",
        JSON.stringify({ url, secret, from, count, ticks }),
      ],
      stdout: "inherit",
      stderr: "inherit",
      ipc: (message) => onMessage(message),
    });
    pinClients(child.pid);
    const next = <T>(kind: string) =>
      new Promise<T>((resolve) => {
        onMessage = (message) => {
          if (message.kind === kind) resolve(message as unknown as T);
        };
      });
    return {
      ready: next<{ open: number; failed: number }>("ready"),
      report() {
        const answer = next<FleetReport>("report");
        child.send({ kind: "report" });
        return answer;
      },
      async stop() {
        child.kill();
        await child.exited;
      },
    };
  });
}

/** Child process (`--client`): opens its share of the sockets, records arrival times, reports to the parent. */
async function runClients(): Promise<void> {
  const { url, secret, from, count, ticks } = JSON.parse(process.argv[3]!) as {
    url: string;
    secret: string;
    from: number;
    count: number;
    ticks: number;
  };
  const cookies = await adminCookies(secret, from, count);
  const arrivals = cookies.map(() => new Float64Array(ticks + 1));
  const sockets: WebSocket[] = [];
  let open = 0;
  let failed = 0;
  const connectOne = (index: number) =>
    new Promise<void>((resolve) => {
      const ws = new WebSocket(url, { headers: { cookie: cookies[index]! } } as never);
      sockets.push(ws);
      ws.onmessage = (event) => {
        const text = String(event.data);
        if (text.startsWith('{"type":"video.progress","id":')) {
          // The id sits at a fixed place: no JSON.parse on the measured path.
          arrivals[index]![Number.parseInt(text.slice(30, text.indexOf(",", 30)), 10)] = nowMs();
        } else if (text.includes('"subscribed"')) {
          open++;
          resolve();
        } else if (text.includes('"welcome"'))
          ws.send(JSON.stringify({ type: "subscribe", all_uploads: true }));
      };
      ws.onclose = () => {
        failed++;
        resolve();
      };
    });
  // Connect in waves, as a fleet of browsers would arrive, not all in one instant.
  for (let start = 0; start < cookies.length; start += 250) {
    await Promise.all(cookies.slice(start, start + 250).map((_, i) => connectOne(start + i)));
  }
  process.send!({ kind: "ready", open, failed });
  process.on("message", (message: { kind: string }) => {
    if (message.kind !== "report") return;
    const lost = sockets.filter((ws) => ws.readyState !== WebSocket.OPEN).length;
    process.send!({ kind: "report", arrivals: arrivals.map((a) => Array.from(a)), lost });
  });
}

if (import.meta.main && process.argv[2] === "--client") await runClients();
