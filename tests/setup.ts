// Preloaded by `bun test` (bunfig.toml): stops the throwaway PostgreSQL/Redis once the run is over.
import { afterAll, setDefaultTimeout } from "bun:test";
import { stopTestServices } from "../dev/services.ts";
import { killApiProcesses } from "./support/api-process.ts";
import { stopAllTranscoders } from "./support/farm.ts";

// Tests drive real services (PostgreSQL, Redis, SMTP, FFmpeg): bun's 5 s default is too tight for some.
setDefaultTimeout(30_000);
afterAll(async () => {
  await stopAllTranscoders();
  await killApiProcesses();
  await stopTestServices();
});
