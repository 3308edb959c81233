// handleSummary for every script: a plain-text summary on stdout (k6's textSummary lives on
// jslib.k6.io, which CI and the containers cannot reach) and, with SUMMARY_DIR set, the full summary
// data as JSON in SUMMARY_DIR/<script>-summary.json.
import { envString, TREND_STATS } from "./config.js";

const MS_STATS = new Set(["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"]);

function number(value) {
  if (typeof value !== "number" || !Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  if (Math.abs(value) >= 100) return value.toFixed(0);
  return Math.abs(value) >= 1 ? value.toFixed(2) : value.toPrecision(3);
}

function duration(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return String(ms);
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)}s`;
  if (ms >= 1) return `${ms.toFixed(1)}ms`;
  return `${(ms * 1000).toFixed(0)}µs`;
}

function values(metric) {
  const v = metric.values;
  switch (metric.type) {
    case "trend":
      return TREND_STATS.filter((stat) => stat in v)
        .map((stat) =>
          MS_STATS.has(stat) && metric.contains === "time"
            ? `${stat}=${duration(v[stat])}`
            : `${stat}=${number(v[stat])}`,
        )
        .join(" ");
    case "rate":
      return `${(v.rate * 100).toFixed(3)}% (${v.passes} of ${v.passes + v.fails})`;
    case "counter":
      return `${number(v.count)} (${number(v.rate)}/s)`;
    case "gauge":
      return `${number(v.value)} (min ${number(v.min)}, max ${number(v.max)})`;
    default:
      return JSON.stringify(v);
  }
}

function checks(group, lines, indent = "") {
  for (const check of group.checks || []) {
    const total = check.passes + check.fails;
    lines.push(`${indent}  ${check.fails === 0 ? "✓" : "✗"} ${check.name}: ${check.passes}/${total}`);
  }
  for (const inner of group.groups || []) {
    lines.push(`${indent}  ${inner.name}`);
    checks(inner, lines, `${indent}  `);
  }
}

/** The summary as text: thresholds first (what decides the exit code), then every metric. */
export function formatSummary(name, data, notes = []) {
  const lines = [];
  const seconds = (data.state?.testRunDurationMs ?? 0) / 1000;
  lines.push(`==== k6 ${name}: ${seconds.toFixed(1)} s ====`);
  const thresholds = [];
  for (const [metricName, metric] of Object.entries(data.metrics)) {
    for (const [expression, result] of Object.entries(metric.thresholds || {})) {
      thresholds.push({ ok: result.ok, text: `${metricName} ${expression}  (${values(metric)})` });
    }
  }
  const failed = thresholds.filter((t) => !t.ok).length;
  lines.push(`thresholds: ${thresholds.length - failed} passed, ${failed} failed`);
  for (const t of thresholds) lines.push(`  ${t.ok ? "✓" : "✗"} ${t.text}`);
  lines.push("metrics:");
  const width = Math.max(...Object.keys(data.metrics).map((n) => n.length));
  for (const metricName of Object.keys(data.metrics).sort()) {
    lines.push(`  ${metricName.padEnd(width)}  ${values(data.metrics[metricName])}`);
  }
  if (data.root_group && ((data.root_group.checks || []).length || (data.root_group.groups || []).length)) {
    lines.push("checks:");
    checks(data.root_group, lines);
  }
  for (const note of notes) lines.push(note);
  return `${lines.join("\n")}\n`;
}

/** A handleSummary for script `name`; `notes(data)` adds lines computed from the results. */
export function summaryHandler(name, notes = () => []) {
  return (data) => {
    const out = { stdout: formatSummary(name, data, notes(data)) };
    const dir = envString("SUMMARY_DIR", "");
    if (dir) out[`${dir.replace(/\/+$/, "")}/${name}-summary.json`] = JSON.stringify(data, null, 2);
    return out;
  };
}
