// Preloaded by `bun test` (bunfig.toml): stops the throwaway PostgreSQL/Redis once the run is over.
import { afterAll } from "bun:test";
import { stopTestServices } from "./support/services.ts";

afterAll(stopTestServices);
