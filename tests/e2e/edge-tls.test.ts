// HTTPS at the nginx edge (infra/nginx/edge-tls.conf.template) with a certificate chain made here with
// openssl (a CA and a leaf for localhost), checked from the outside with curl and openssl as a client:
// HTTP/2 to an api route and to a signed segment nginx sends itself, Secure cookies when PUBLIC_URL is
// https, the plain port's redirect and ACME webroot, HSTS, OCSP stapling (the CA's responder is
// `openssl ocsp`), and no handshake below TLS 1.2. A lone self-signed certificate (no chain, so no
// stapling) works as well.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MediaTokens } from "../../api/playback/tokens.ts";
import { outputPrefixFor } from "../../contract/media.ts";
import { freePort } from "../../dev/services.ts";
import { type RunningEdge, startEdge } from "../../infra/nginx/edge.ts";
import { eventually } from "../support/eventually.ts";
import { createActiveUser, loggedInClient, startTestApi, type TestApi } from "../support/test-api.ts";

const MEDIA_TOKEN_SECRET = "edge-tls-test-media-secret-0123456789abcdef";
const HSTS_MAX_AGE = 4321;
const VIDEO_ID = 7;

let api: TestApi;
let edge: RunningEdge;
let selfSignedEdge: RunningEdge;
let work: string;
let httpsPort: number;
let acmeRoot: string;
let segmentBytes: Buffer;
let caFile: string;
let ocspResponder: ReturnType<typeof Bun.spawn> | null = null;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(command: string[], env: Record<string, string> = {}): Promise<Ran> {
  const child = Bun.spawn(command, {
    env: { ...process.env, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}

async function openssl(...args: string[]): Promise<void> {
  const result = await run(["openssl", ...args]);
  if (result.code !== 0) throw new Error(`openssl ${args.join(" ")}: ${result.stderr}`);
}

/**
 * A CA, a leaf for localhost and 127.0.0.1 signed by it naming the CA's OCSP responder on `ocspPort`,
 * the leaf's chain file (leaf, then CA), and the responder's index, where the leaf is valid.
 */
async function makeChain(
  dir: string,
  ocspPort: number,
): Promise<{ ca: string; caKey: string; chain: string; key: string; index: string }> {
  const file = (name: string) => join(dir, name);
  await openssl(
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"],
    ...["-subj", "/CN=Videoflix test CA", "-keyout", file("ca.key"), "-out", file("ca.pem")],
    ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"],
  );
  await openssl(
    ...["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost"],
    ...["-keyout", file("leaf.key"), "-out", file("leaf.csr")],
  );
  writeFileSync(
    file("leaf.ext"),
    [
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "extendedKeyUsage=serverAuth",
      "basicConstraints=CA:FALSE",
      `authorityInfoAccess=OCSP;URI:http://127.0.0.1:${ocspPort}`,
      "",
    ].join("\n"),
  );
  await openssl(
    ...["x509", "-req", "-in", file("leaf.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key")],
    ...["-CAcreateserial", "-days", "2", "-extfile", file("leaf.ext"), "-out", file("leaf.pem")],
  );
  writeFileSync(
    file("chain.pem"),
    readFileSync(file("leaf.pem"), "utf8") + readFileSync(file("ca.pem"), "utf8"),
  );
  // openssl ca's index format: V, expiry as YYMMDDHHMMSSZ, no revocation date, serial, file, subject.
  const leaf = new X509Certificate(readFileSync(file("leaf.pem")));
  const expiry = new Date(leaf.validTo).toISOString().replace(/[-:T]/g, "").slice(2, 14);
  writeFileSync(file("index.txt"), `V\t${expiry}Z\t\t${leaf.serialNumber}\tunknown\t/CN=localhost\n`);
  return {
    ca: file("ca.pem"),
    caKey: file("ca.key"),
    chain: file("chain.pem"),
    key: file("leaf.key"),
    index: file("index.txt"),
  };
}

// OpenSSL's own floor (Debian: TLS 1.2, security level 2) would refuse TLS 1.0/1.1 whatever the edge
// says. With this configuration, given to nginx and to the clients, only the edge's settings refuse.
const PERMISSIVE_OPENSSL = `openssl_conf = init
[init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1
CipherString = DEFAULT@SECLEVEL=0
`;
let permissiveConf: string;

/** startEdge with OPENSSL_CONF set for nginx only (it reads it when it starts). */
async function startEdgeWithOpensslConf(options: Parameters<typeof startEdge>[0]): Promise<RunningEdge> {
  const saved = process.env.OPENSSL_CONF;
  process.env.OPENSSL_CONF = permissiveConf;
  try {
    return await startEdge(options);
  } finally {
    if (saved === undefined) delete process.env.OPENSSL_CONF;
    else process.env.OPENSSL_CONF = saved;
  }
}

/** curl over HTTPS to localhost (resolved to 127.0.0.1, the name the leaf is for), trusting our CA. */
async function curlHttps(path: string, extra: string[] = [], port = httpsPort) {
  const headersFile = join(work, `headers-${crypto.randomUUID()}`);
  const bodyFile = join(work, `body-${crypto.randomUUID()}`);
  const result = await run([
    ...["curl", "-sS", "--cacert", caFile, "--http2", "--resolve", `localhost:${port}:127.0.0.1`],
    ...["-D", headersFile, "-o", bodyFile, "-w", "%{http_version}", ...extra],
    `https://localhost:${port}${path}`,
  ]);
  expect(result.code, result.stderr).toBe(0);
  const headerText = readFileSync(headersFile, "utf8");
  const status = Number(/^HTTP\/\S+ (\d{3})/.exec(headerText)?.[1]);
  const headers = new Headers();
  for (const line of headerText.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { httpVersion: result.stdout, status, headers, body: readFileSync(bodyFile) };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "vf-edge-tls-"));
  // The ACME webroot is in here: the edge's workers (nobody, under a root test run) must reach it.
  chmodSync(work, 0o711);
  permissiveConf = join(work, "permissive-openssl.cnf");
  writeFileSync(permissiveConf, PERMISSIVE_OPENSSL);
  const ocspPort = await freePort();
  const chain = await makeChain(work, ocspPort);
  caFile = chain.ca;
  ocspResponder = Bun.spawn(
    [
      ...["openssl", "ocsp", "-index", chain.index, "-port", String(ocspPort), "-CA", chain.ca],
      ...["-rsigner", chain.ca, "-rkey", chain.caKey, "-nmin", "5"],
    ],
    { stdout: "ignore", stderr: "ignore" },
  );
  httpsPort = await freePort();
  api = await startTestApi({
    MEDIA_TOKEN_SECRET,
    PUBLIC_URL: `https://localhost:${httpsPort}`,
  });
  // A published segment where the edge looks for it; nginx checks the token, not the catalogue.
  const rung = join(api.config.mediaRoot, outputPrefixFor(VIDEO_ID, 1), "360p");
  mkdirSync(rung, { recursive: true });
  segmentBytes = Buffer.from(Array.from({ length: 188 * 40 }, (_, i) => (i % 188 === 0 ? 0x47 : i % 251)));
  writeFileSync(join(rung, "seg_00000.ts"), segmentBytes);
  acmeRoot = join(work, "acme");
  mkdirSync(join(acmeRoot, ".well-known/acme-challenge"), { recursive: true });
  const common = {
    apiUpstream: new URL(api.url).host,
    mediaRoot: api.config.mediaRoot,
    mediaTokenSecret: MEDIA_TOKEN_SECRET,
    sharedMaxAgeSeconds: api.config.mediaTokenTtlSeconds,
    corsOrigins: [],
  };
  edge = await startEdgeWithOpensslConf({
    ...common,
    port: await freePort(),
    acmeRoot,
    tls: {
      port: httpsPort,
      certFile: chain.chain,
      keyFile: chain.key,
      hstsMaxAgeSeconds: HSTS_MAX_AGE,
      resolver: null,
    },
  });
  // The self-signed certificate `npm run up -- --tls` makes: one certificate, no issuer to staple from.
  await openssl(
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"],
    ...["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
    ...["-keyout", join(work, "self.key"), "-out", join(work, "self.pem")],
  );
  selfSignedEdge = await startEdge({
    ...common,
    port: await freePort(),
    tls: { port: await freePort(), certFile: join(work, "self.pem"), keyFile: join(work, "self.key") },
  });
}, 60_000);

afterAll(async () => {
  ocspResponder?.kill();
  await ocspResponder?.exited;
  await edge?.stop();
  await selfSignedEdge?.stop();
  await api?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("HTTPS with HTTP/2", () => {
  test("an api route: JSON over HTTP/2, HSTS, and the login's cookies are Secure", async () => {
    const account = await createActiveUser(api);
    const login = await curlHttps("/api/login/", [
      ...["-X", "POST", "-H", "content-type: application/json"],
      ...["-H", `origin: https://localhost:${httpsPort}`, "--data", JSON.stringify(account)],
    ]);
    expect(login.httpVersion).toBe("2");
    expect(login.status).toBe(200);
    expect(login.headers.get("strict-transport-security")).toBe(`max-age=${HSTS_MAX_AGE}`);
    const cookies = login.headers.getSetCookie();
    expect(cookies.map((cookie) => cookie.split("=")[0])).toContain("access_token");
    for (const cookie of cookies) expect(cookie).toMatch(/;\s*Secure/i);
  });

  test("a signed segment is sent by nginx itself over HTTP/2, with HSTS", async () => {
    const token = new MediaTokens(MEDIA_TOKEN_SECRET, 3600).mint(VIDEO_ID);
    const response = await curlHttps(`/api/video/${VIDEO_ID}/360p/seg_00000.ts?v=1&token=${token}`);
    expect(response.httpVersion).toBe("2");
    expect(response.status).toBe(200);
    expect(response.headers.get("x-served-by")).toBe("edge");
    expect(response.headers.get("content-type")).toBe("video/mp2t");
    expect(response.headers.get("strict-transport-security")).toBe(`max-age=${HSTS_MAX_AGE}`);
    expect(response.body.equals(segmentBytes)).toBe(true);
  });

  test("the edge's own errors over HTTPS are JSON with HSTS too", async () => {
    const response = await curlHttps("/metrics");
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("strict-transport-security")).toBe(`max-age=${HSTS_MAX_AGE}`);
    expect(JSON.parse(response.body.toString())).toEqual({ detail: "Not found." });
  });

  test("OCSP stapling: the CA responder's answer comes with the handshake", async () => {
    // nginx asks the responder on the first handshake that needs it and staples from then on.
    const stapled = () =>
      run([
        ...["curl", "-sS", "--cacert", caFile, "--cert-status", "-o", "/dev/null"],
        ...["--resolve", `localhost:${httpsPort}:127.0.0.1`, `https://localhost:${httpsPort}/health`],
      ]);
    await eventually("a stapled OCSP response", async () => (await stapled()).code === 0, 15_000);
  });

  test("the WebSocket upgrades over TLS (wss://, HTTP/1.1: nginx has no WebSocket over HTTP/2)", async () => {
    const viewer = await loggedInClient(api);
    const cookie = [...viewer.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    const socket = new WebSocket(`wss://127.0.0.1:${httpsPort}/api/ws`, {
      headers: { cookie, origin: `https://localhost:${httpsPort}` },
      tls: { ca: readFileSync(caFile, "utf8") },
    } as unknown as string[]);
    const welcome = await new Promise<{ type: string }>((resolve, reject) => {
      socket.onmessage = (event) => resolve(JSON.parse(String(event.data)));
      socket.onerror = () => reject(new Error("WebSocket error"));
    });
    expect(welcome.type).toBe("welcome");
    socket.close();
  });

  test("a lone self-signed certificate serves as well", async () => {
    const port = Number(new URL(selfSignedEdge.httpsUrl!).port);
    const result = await run([
      ...["curl", "-sS", "--cacert", join(work, "self.pem"), "--http2"],
      ...[
        "--resolve",
        `localhost:${port}:127.0.0.1`,
        "-o",
        "/dev/null",
        "-w",
        "%{http_version} %{http_code}",
      ],
      `https://localhost:${port}/health`,
    ]);
    expect(result.stdout).toBe("2 200");
    // Nothing to staple from (no issuer, no responder): a client asking for a staple gets none.
    const status = await run([
      ...["curl", "-sS", "--cacert", join(work, "self.pem"), "--cert-status", "-o", "/dev/null"],
      ...["--resolve", `localhost:${port}:127.0.0.1`, `https://localhost:${port}/health`],
    ]);
    expect(status.stderr).toMatch(/No OCSP response received/);
  });
});

describe("plain HTTP", () => {
  test("redirects to the same URL over HTTPS (308: the method stays), without HSTS", async () => {
    const response = await fetch(`${edge.url}/api/video/?category=1`, { redirect: "manual" });
    expect(response.status).toBe(308);
    expect(response.headers.get("location")).toBe(`https://127.0.0.1:${httpsPort}/api/video/?category=1`);
    expect(response.headers.get("strict-transport-security")).toBeNull();
  });

  test("answers ACME challenges from the webroot instead of redirecting them", async () => {
    writeFileSync(join(acmeRoot, ".well-known/acme-challenge/probe-token"), "probe-token.key-authorization");
    const response = await fetch(`${edge.url}/.well-known/acme-challenge/probe-token`, {
      redirect: "manual",
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("probe-token.key-authorization");
  });

  test("plain HTTP sent to the HTTPS port is redirected there too", async () => {
    const response = await fetch(`http://127.0.0.1:${httpsPort}/health`, { redirect: "manual" });
    expect(response.status).toBe(308);
    expect(response.headers.get("location")).toBe(`https://127.0.0.1:${httpsPort}/health`);
  });
});

describe("protocols", () => {
  const handshake = (port: number, ...versions: string[]) =>
    run(
      [
        ...["curl", "-sS", "-k", ...versions, "--ciphers", "DEFAULT@SECLEVEL=0"],
        ...["-o", "/dev/null", "-w", "%{http_code}", `https://127.0.0.1:${port}/health`],
      ],
      { OPENSSL_CONF: permissiveConf },
    );

  test("TLS 1.0 and 1.1 are refused, 1.2 and 1.3 accepted", async () => {
    for (const max of ["1.0", "1.1"]) {
      const refused = await handshake(httpsPort, "--tlsv1.0", "--tls-max", max);
      expect(refused.code, `TLS ${max}`).not.toBe(0);
      expect(refused.stderr, `TLS ${max}`).toMatch(/protocol version/);
    }
    for (const version of ["--tlsv1.2", "--tlsv1.3"]) {
      const accepted = await handshake(httpsPort, version, "--tls-max", version.slice(6));
      expect(accepted.stdout, version).toBe("200");
    }
  });

  test("control: the same client does speak TLS 1.1 to a server that allows it", async () => {
    const port = await freePort();
    const server = Bun.spawn(
      [
        ...["openssl", "s_server", "-accept", `127.0.0.1:${port}`, "-www", "-tls1_1"],
        ...["-cert", join(work, "self.pem"), "-key", join(work, "self.key"), "-cipher", "DEFAULT@SECLEVEL=0"],
      ],
      { env: { ...process.env, OPENSSL_CONF: permissiveConf }, stdout: "ignore", stderr: "ignore" },
    );
    try {
      let result: Ran = { code: -1, stdout: "", stderr: "" };
      for (let attempt = 0; attempt < 50 && result.stdout !== "200"; attempt++) {
        result = await handshake(port, "--tlsv1.0", "--tls-max", "1.1");
        if (result.stdout !== "200") await Bun.sleep(100);
      }
      expect(result.stdout, result.stderr).toBe("200");
    } finally {
      server.kill();
      await server.exited;
    }
  });
});
