import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MediaStorage } from "./index.ts";
import { LocalMediaStorage } from "./local.ts";
import { S3MediaStorage, type S3StorageOptions } from "./s3.ts";

/** What config/storage.ts parsed (repeated structurally: storage/ imports nothing of ours). */
export type StorageTarget =
  | { kind: "local"; mediaRoot: string }
  | ({ kind: "s3" } & Omit<S3StorageOptions, "scratchRoot">);

/** The driver for the configured storage; `scratchRoot` is this process's own working directory. */
export function openMediaStorage(target: StorageTarget, scratchRoot?: string): MediaStorage {
  if (target.kind === "local") return new LocalMediaStorage(target.mediaRoot);
  return new S3MediaStorage({ ...target, scratchRoot: scratchRoot ?? join(tmpdir(), "videoflix-scratch") });
}
