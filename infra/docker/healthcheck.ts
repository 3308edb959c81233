// The images' HEALTHCHECK, so they need no curl: `bun infra/docker/healthcheck.ts <path> <PORT_VARIABLE>
// <default port>` GETs http://127.0.0.1:<port><path> (the port from the named variable, as the process
// reads it) and exits 0 on a 2xx answer within 4 s, 1 otherwise. Port 0 means the process serves no
// health endpoint (TRANSCODER_METRICS_PORT=0): nothing to probe, so healthy while it runs.
// A module (top-level await), though it imports nothing.
export {};

const [path = "/health", portVariable = "PORT", fallbackPort = "3000"] = process.argv.slice(2);
const port = process.env[portVariable]?.trim() || fallbackPort;

if (port === "0") {
  console.log(`${portVariable}=0: no health endpoint to probe`);
  process.exit(0);
}

try {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(4000) });
  console.log(`GET ${path}: ${response.status}`);
  process.exit(response.ok ? 0 : 1);
} catch (error) {
  console.log(`GET ${path}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
