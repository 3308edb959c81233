// `bun run bench:auth`: requests/second of the same GET with and without the auth check, side by side
// on loopback (wrk, interleaved rounds, medians), plus login timing for the three failure causes.
// Goal: authenticated ≥ 95% of anonymous (issue 17 keeps the cached path that fast with revocation on).

import { jwtVerify } from "jose";
import { Client, createActiveUser, STRONG_PASSWORD, uniqueEmail } from "../../dev/browser-client.ts";
import { BENCH_JWT_SECRET, startBenchApi } from "./bench-api.ts";
import { ownCpuSeconds } from "./cpu-time.ts";
import { median, requireWrk, runWrk } from "./wrk.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

requireWrk();
const bench = await startBenchApi(
  { RATE_LIMIT_LOGIN_IP: "100000/1m", RATE_LIMIT_LOGIN_ACCOUNT: "100000/1m" },
  { smtp: true },
);
const { runtime } = bench;
const smtp = bench.smtp!;
const key = new TextEncoder().encode(BENCH_JWT_SECRET);
const payload = { id: 1, title: "Big Buck Bunny", category: "Animation" };

// The same handler three ways: open, behind `{ auth: true }`, and behind a naive jwtVerify per request.
// All three answer the same body shape (the open one with viewer 0), so that the ratio is the auth check
// alone, not a bigger object to spread and serialise. A second open route, the same code under another
// path, is the A/A control: its ratio to the first is what the day's noise alone gives for no change.
const app = runtime.app
  .get("/bench/anonymous", () => ({ ...payload, viewer: 0 }))
  .get("/bench/anonymous-again", () => ({ ...payload, viewer: 0 }))
  .get("/bench/authenticated", ({ user }) => ({ ...payload, viewer: user.id }), { auth: true })
  .get("/bench/jwt-verify-per-request", async ({ request, status }) => {
    const token = /access_token=([^;]+)/.exec(request.headers.get("cookie") ?? "")?.[1];
    try {
      const { payload: claims } = await jwtVerify(token ?? "", key, { algorithms: ["HS256"] });
      return { ...payload, viewer: Number(claims.sub) };
    } catch {
      return status(401, { detail: "invalid" });
    }
  })
  .listen({ hostname: "127.0.0.1", port: 0 });
const base = `http://127.0.0.1:${app.server!.port}`;
const api = { url: base, smtp };

const account = await createActiveUser(api);
const viewer = new Client(base);
await viewer.post("/api/login/", account);
const cookie = `Cookie: access_token=${viewer.cookies.get("access_token")}`;

const variants = {
  anonymous: { path: "/bench/anonymous", headers: [cookie] },
  authenticated: { path: "/bench/authenticated", headers: [cookie] },
  "jwt-verify-per-request": { path: "/bench/jwt-verify-per-request", headers: [cookie] },
  "anonymous-again": { path: "/bench/anonymous-again", headers: [cookie] },
} as const;
const results: Record<string, number[]> = {};
// The api's CPU per answered request (this process; wrk is another): what the check costs, and a
// figure that moves less than the rates when the machine is shared.
const cpuPerRequest: Record<string, number[]> = {};
console.log(`wrk: 1 thread, ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} interleaved rounds`);
// Every route warmed (Elysia composes a route on its first request, then the JIT has its turn), and
// round r starts with variant r: no variant is always measured first, or right after the same one.
for (const variant of Object.values(variants)) {
  await runWrk(`${base}${variant.path}`, { seconds: 1, connections: CONNECTIONS, headers: variant.headers });
}
const entries = Object.entries(variants);
for (let round = 1; round <= ROUNDS; round++) {
  const shift = (round - 1) % entries.length;
  for (const [name, variant] of [...entries.slice(shift), ...entries.slice(0, shift)]) {
    const cpuBefore = ownCpuSeconds();
    const result = await runWrk(`${base}${variant.path}`, {
      seconds: SECONDS,
      connections: CONNECTIONS,
      headers: variant.headers,
    });
    const cpuMicros = ((ownCpuSeconds() - cpuBefore) * 1e6) / result.requests;
    if (result.non2xx > 0) throw new Error(`${name}: ${result.non2xx} non-2xx answers`);
    results[name] = [...(results[name] ?? []), result.requestsPerSecond];
    cpuPerRequest[name] = [...(cpuPerRequest[name] ?? []), cpuMicros];
    console.log(
      `  round ${round} ${name.padEnd(24)} ${result.requestsPerSecond.toFixed(0).padStart(8)} req/s  p99 ${result.latencyP99Ms} ms  api CPU ${cpuMicros.toFixed(2)} µs/request`,
    );
  }
}
const anonymous = median(results.anonymous!);
const authenticated = median(results.authenticated!);
const naive = median(results["jwt-verify-per-request"]!);
const again = median(results["anonymous-again"]!);
console.log("\nmedian requests/second");
console.log(`  anonymous GET                    ${anonymous.toFixed(0)}`);
console.log(
  `  authenticated GET ({auth:true})  ${authenticated.toFixed(0)}  ratio ${(authenticated / anonymous).toFixed(3)} (goal ≥ 0.95)`,
);
console.log(
  `  jwtVerify on every request       ${naive.toFixed(0)}  ratio ${(naive / anonymous).toFixed(3)} (reference)`,
);
console.log(
  `  anonymous again (A/A control)    ${again.toFixed(0)}  ratio ${(again / anonymous).toFixed(3)} (no change: the day's noise)`,
);
const cpuOf = (name: string) => median(cpuPerRequest[name]!);
console.log("\nmedian api CPU per request (ratio: anonymous's / this one's, the same sense as the rates)");
for (const name of Object.keys(variants)) {
  console.log(
    `  ${name.padEnd(32)} ${cpuOf(name).toFixed(2)} µs  ratio ${(cpuOf("anonymous") / cpuOf(name)).toFixed(3)}`,
  );
}

// Login failures must not reveal which of the three causes it was, by body or by time.
const inactive = uniqueEmail("inactive");
await new Client(base).post("/api/register/", {
  email: inactive,
  password: STRONG_PASSWORD,
  confirmed_password: STRONG_PASSWORD,
});
const cases = {
  "unknown email": { email: uniqueEmail("nobody"), password: STRONG_PASSWORD },
  "wrong password": { email: account.email, password: "not-the-right-password-1" },
  "inactive account": { email: inactive, password: STRONG_PASSWORD },
};
console.log("\nlogin failure timing (20 attempts each, median ms)");
for (const [name, body] of Object.entries(cases)) {
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const started = performance.now();
    const response = await new Client(base).post("/api/login/", body);
    times.push(performance.now() - started);
    if (response.status !== 400) throw new Error(`${name}: expected 400, got ${response.status}`);
  }
  console.log(`  ${name.padEnd(18)} ${median(times).toFixed(1)} ms`);
}

await bench.stop();
