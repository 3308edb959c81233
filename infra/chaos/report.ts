// The suite's table: each fault, how long recovery took, and whether everything held.
export interface ScenarioOutcome {
  name: string;
  fault: string;
  recoverySeconds: number | null;
  span: string;
  /** The slowest answer while a store was down (outage faults only). */
  slowestOutageMs: number | null;
  violations: string[];
  seconds: number;
}

const pad = (text: string, width: number) => text.padEnd(width);

export function formatTable(outcomes: ScenarioOutcome[]): string {
  const rows = outcomes.map((outcome) => [
    outcome.fault,
    outcome.recoverySeconds === null ? "—" : `${outcome.recoverySeconds.toFixed(1)} s (${outcome.span})`,
    outcome.slowestOutageMs === null ? "—" : `${Math.round(outcome.slowestOutageMs)} ms`,
    outcome.violations.length === 0 ? "held" : `FAILED (${outcome.violations.length})`,
  ]);
  const header = ["fault", "recovery", "slowest answer in outage", "outcome"];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: string[]) => cells.map((cell, column) => pad(cell, widths[column]!)).join(" | ");
  const lines = [line(header), widths.map((width) => "-".repeat(width)).join("-|-"), ...rows.map(line)];
  for (const outcome of outcomes) {
    for (const violation of outcome.violations) lines.push(`  ${outcome.name}: ${violation}`);
  }
  return lines.join("\n");
}
