// `storage_reclaimed_items_total` and `storage_reclaimed_bytes_total`, defined once for the api and the
// transcoders: one query sums what every process's sweeps reclaimed.
import { Counter, type Registry } from "prom-client";
import type { Reclaimed } from "./index.ts";

/** What the sweeps reclaim, the metrics' `kind` label: the api's first, then the transcoders'. */
export const API_RECLAIMED_KINDS = [
  "upload_staging",
  "retired_revision",
  "orphan_tree",
  "expired_upload",
  "orphan_source",
] as const;
export const TRANSCODER_RECLAIMED_KINDS = ["attempt_staging", "stale_staging", "flow_scratch"] as const;
export type ApiReclaimedKind = (typeof API_RECLAIMED_KINDS)[number];
export type TranscoderReclaimedKind = (typeof TRANSCODER_RECLAIMED_KINDS)[number];

export class ReclaimedMetrics<Kind extends string> {
  private readonly items: Counter<"kind">;
  private readonly bytes: Counter<"kind">;

  /** The counters in `registry`, every kind of the process at 0 from the start. */
  constructor(registry: Registry, kinds: readonly Kind[]) {
    const registers = [registry];
    this.items = new Counter({
      name: "storage_reclaimed_items_total",
      help: "Leftovers removed by the periodic sweeps (staging folders, trees), by kind",
      labelNames: ["kind"],
      registers,
    });
    this.bytes = new Counter({
      name: "storage_reclaimed_bytes_total",
      help: "Bytes the periodic sweeps removed, by kind",
      labelNames: ["kind"],
      registers,
    });
    for (const kind of kinds) {
      this.items.inc({ kind }, 0);
      this.bytes.inc({ kind }, 0);
    }
  }

  /** What one sweep removed of one kind. */
  readonly observe = (kind: Kind, { items, bytes }: Reclaimed): void => {
    this.items.inc({ kind }, items);
    this.bytes.inc({ kind }, bytes);
  };
}
