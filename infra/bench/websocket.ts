// `bun run bench:websocket`: N authenticated WebSocket clients (default 10,000, in a few client
// processes) on one api process; a "transcoder" publishes progress ticks on Redis as TranscodeReporter
// does; reports the latency from publish to each client (p50/p99/max; goal p99 < 100 ms) and the api
// process's memory per connection (RSS delta / N).
//
// BENCH_CLIENTS (10000), BENCH_TICKS (40), BENCH_TICK_INTERVAL_MS (100), BENCH_CLIENT_IMPL (go: the
// clients are infra/bench/ws-clients, one Go process; bun: this file's --client mode in
// BENCH_CLIENT_PROCESSES Bun processes, CPU count 2–8), BENCH_PIN (1: the api on CPU 0, the clients on
// the other CPUs; 0: no pinning).
// Each socket is a file descriptor on both sides: the npm script raises `ulimit -n` (soft limit, up
// to the hard one); raise the hard limit yourself for more than ~(hard limit - 500) clients.
//
// Latency: ticks carry their sequence number as `videoId`; clients note the wall-clock arrival time
// (performance.timeOrigin + performance.now(), sub-millisecond and shared across processes on one
// machine) of each, and the publisher's send times are subtracted here.
import { availableParallelism } from "node:os";
import Redis from "ioredis";
import { AccessTokens } from "../../api/auth/session.ts";
import { PROGRESS_CHANNEL, type TranscodeProgress } from "../../contract/progress.ts";

const nowMs = () => performance.timeOrigin + performance.now();

/**
 * CPU pinning (BENCH_PIN, default on with 2+ CPUs and util-linux's taskset; BENCH_PIN=0 turns it off):
 * the api process on CPU 0, the client fleet on the others, as if the clients were other machines. Left
 * floating, the clients' thousands of reads preempt the api's sends on its own core; Redis, the kernel's
 * loopback work and everything else still float.
 */
const PIN = process.env.BENCH_PIN !== "0" && availableParallelism() >= 2 && Bun.which("taskset") !== null;
const CLIENT_CPUS = availableParallelism() > 2 ? `1-${availableParallelism() - 1}` : "1";

function pin(pid: number, cpus: string): void {
  if (!PIN) return;
  // -a: every thread of the process, those it starts later inherit it.
  const result = Bun.spawnSync(["taskset", "-a", "-p", "-c", cpus, String(pid)], { stdout: "ignore" });
  if (result.exitCode !== 0) throw new Error(`taskset -c ${cpus} ${pid} failed: ${result.stderr.toString()}`);
}
const pinClients = (pid: number) => pin(pid, CLIENT_CPUS);

if (process.argv[2] === "--client") await runClients();
else await runBench();

/** Child process: opens its share of the sockets, records arrival times, reports to the parent. */
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

/** Admin sessions (progress goes to admins), one user each, signed as the login route signs them. */
async function adminCookies(secret: string, from: number, count: number): Promise<string[]> {
  const tokens = new AccessTokens(secret, 3600);
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const id = 1_000_000 + from + i;
      return `access_token=${await tokens.sign({ id, email: `bench-${id}@example.com`, isAdmin: true, sessionId: crypto.randomUUID(), userEpoch: 0 })}`;
    }),
  );
}

interface Fleet {
  ready: Promise<{ open: number; failed: number }>;
  report(): Promise<{ arrivals: number[][]; lost: number }>;
  stop(): Promise<void>;
}

/** The default client fleet: ws-clients (Go, one process, goroutines on the netpoller), built on demand. */
async function goFleet(url: string, secret: string, clients: number, ticks: number): Promise<Fleet> {
  const root = `${import.meta.dir}/../..`;
  const binary = `${root}/var/tools/bin/ws-clients`;
  // Its own Go module (infra/bench/ws-clients); Go itself comes from infra/lib/go-tools.sh when missing.
  const build = Bun.spawnSync(
    [
      "bash",
      "-c",
      `for lib in output packages go-tools; do . "${root}/infra/lib/$lib.sh"; done && ensure_go && "$(go_binary)" build -o "${binary}" .`,
    ],
    {
      cwd: `${import.meta.dir}/ws-clients`,
      stdout: "inherit",
      stderr: "inherit",
      env: { ...process.env, GOFLAGS: "-mod=mod", GOTOOLCHAIN: "auto" },
    },
  );
  if (build.exitCode !== 0) throw new Error("building infra/bench/ws-clients failed");
  const cookies = await adminCookies(secret, 0, clients);
  const configPath = `${root}/var/tools/ws-clients-config.json`;
  await Bun.write(configPath, JSON.stringify({ url, cookies, ticks }));
  const child = Bun.spawn([binary, configPath], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
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
      return JSON.parse(await nextLine()) as { arrivals: number[][]; lost: number };
    },
    async stop() {
      child.kill();
      await child.exited;
    },
  };
}

/** The JavaScript client fleet (BENCH_CLIENT_IMPL=bun): this file's `--client` mode in several processes. */
function bunFleets(url: string, secret: string, clients: number, processes: number, ticks: number): Fleet[] {
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
        const answer = next<{ arrivals: number[][]; lost: number }>("report");
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

async function runBench(): Promise<void> {
  // Loaded here, not at the top: the client processes run this file too and need none of it.
  const { BENCH_JWT_SECRET, startBenchApi } = await import("./bench-api.ts");
  const clients = Number(process.env.BENCH_CLIENTS ?? 10_000);
  const processes = Math.max(
    1,
    Number(process.env.BENCH_CLIENT_PROCESSES ?? Math.min(8, Math.max(2, availableParallelism()))),
  );
  const ticks = Number(process.env.BENCH_TICKS ?? 40);
  const intervalMs = Number(process.env.BENCH_TICK_INTERVAL_MS ?? 100);
  const clientImpl = process.env.BENCH_CLIENT_IMPL ?? "go";
  if (clientImpl !== "go" && clientImpl !== "bun") throw new Error("BENCH_CLIENT_IMPL is go or bun");
  const secret = BENCH_JWT_SECRET;
  pin(process.pid, "0");
  const bench = await startBenchApi();
  const { runtime, config } = bench;
  runtime.app.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `ws://127.0.0.1:${runtime.app.server!.port}/api/ws`;

  Bun.gc(true);
  await Bun.sleep(200);
  const rssBefore = process.memoryUsage().rss;
  console.log(
    `websocket bench: ${clients} clients (${clientImpl === "go" ? "one Go process" : `${processes} Bun processes`}), ` +
      `${ticks} ticks every ${intervalMs} ms; ` +
      (PIN ? `api pinned to CPU 0, clients to CPU ${CLIENT_CPUS}` : "no CPU pinning"),
  );

  const started = performance.now();
  const fleets =
    clientImpl === "go"
      ? [await goFleet(url, secret, clients, ticks)]
      : bunFleets(url, secret, clients, processes, ticks);
  const ready = await Promise.all(fleets.map((fleet) => fleet.ready));
  const open = ready.reduce((sum, r) => sum + r.open, 0);
  const refused = ready.reduce((sum, r) => sum + r.failed, 0);
  console.log(
    `connected: ${open} open, ${refused} refused, in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );

  Bun.gc(true);
  await Bun.sleep(500);
  const rssAfter = process.memoryUsage().rss;

  // The transcoder side: a plain Redis connection publishing TranscodeProgress as TranscodeReporter does.
  const publisher = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const sentAt = new Float64Array(ticks + 1);
  for (let seq = 1; seq <= ticks; seq++) {
    const tick: TranscodeProgress = {
      videoId: seq,
      revision: 1,
      stage: "encoding",
      percent: (seq / ticks) * 100,
      rung: "all",
      speed: 3.5,
      etaSeconds: ticks - seq,
    };
    const message = JSON.stringify(tick);
    sentAt[seq] = nowMs();
    await publisher.publish(PROGRESS_CHANNEL, message);
    await Bun.sleep(intervalMs);
  }
  await Bun.sleep(1000);

  // The api's own share: one Bun topic publish to every socket (what the hub does per tick), timed.
  const server = runtime.app.server!;
  const probe = JSON.stringify({
    type: "video.progress",
    id: 0,
    revision: 1,
    state: "processing",
    percent: 1,
    stage: "encoding",
    eta_seconds: 1,
  });
  const fanOut: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    server.publish("admin:uploads", probe);
    fanOut.push(performance.now() - t0);
    await Bun.sleep(intervalMs);
  }
  fanOut.sort((a, b) => a - b);
  await Bun.sleep(1000);

  const latencies: number[] = [];
  let missing = 0;
  let lost = 0;
  for (const report of await Promise.all(fleets.map((fleet) => fleet.report()))) {
    lost += report.lost;
    for (const arrivals of report.arrivals) {
      for (let seq = 1; seq <= ticks; seq++) {
        if (arrivals[seq]) latencies.push(arrivals[seq]! - sentAt[seq]!);
        else missing++;
      }
    }
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? Number.NaN;
  console.log(
    `\nprogress tick → client latency over ${latencies.length} deliveries (${missing} missing, ${lost} sockets lost)`,
  );
  console.log(
    `  p50 ${pct(50).toFixed(1)} ms   p90 ${pct(90).toFixed(1)} ms   p99 ${pct(99).toFixed(1)} ms (goal < 100)   max ${latencies.at(-1)?.toFixed(1)} ms`,
  );
  console.log(
    `server-side fan-out (one server.publish to ${open} sockets): median ${fanOut[10]!.toFixed(2)} ms, max ${fanOut.at(-1)!.toFixed(2)} ms`,
  );
  console.log(
    `api process memory: RSS ${(rssBefore / 2 ** 20).toFixed(0)} → ${(rssAfter / 2 ** 20).toFixed(0)} MiB, ` +
      `${((rssAfter - rssBefore) / Math.max(open, 1) / 1024).toFixed(1)} KiB per connection`,
  );

  await Promise.all(fleets.map((fleet) => fleet.stop()));
  publisher.disconnect();
  await bench.stop();
  process.exit(0);
}
