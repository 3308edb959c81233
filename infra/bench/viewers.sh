#!/usr/bin/env bash
# `bun run bench:viewers`: the largest number of concurrent real-time viewers the stack holds on this
# machine with no rebuffering, found by ramping. Starts the load-test stack with the nginx edge in front
# (PostgreSQL, Redis, api, one transcoder, edge: load-tests/stack.ts), seeds viewers and 60 s clips, then
# runs load-tests/streaming.js at rising levels of concurrent viewers: each level ramps up at
# BENCH_LOGINS_PER_SECOND new viewers per second (each signs in once: argon2), holds for
# BENCH_HOLD_SECONDS, and passes when every threshold of streaming.js holds (no rebuffer, errors < 0.1%,
# p95 segment download < 20% of the segment's duration, p95 time to first segment < 2 s). Stops at the
# first level that fails and prints a table; summaries in var/loadtest/viewers/<level>/.
#
# BENCH_LEVELS ("1000 2000 3000 4000"), BENCH_HOLD_SECONDS (60), BENCH_LOGINS_PER_SECOND (5: a sign-in
# is an argon2id verification, ~80-100 ms of CPU, so 10/s would take one of this machine's two cores for
# the whole ramp; the viewers, not the sign-ins, are what is measured).
set -euo pipefail
lib="$(dirname "${BASH_SOURCE[0]}")/../lib"
# shellcheck source=infra/lib/output.sh
. "$lib/output.sh"
# shellcheck source=infra/lib/packages.sh
. "$lib/packages.sh"
# shellcheck source=infra/lib/dev-env.sh
. "$lib/dev-env.sh"
# shellcheck source=infra/lib/go-tools.sh
. "$lib/go-tools.sh"
cd "$REPO_ROOT"

bash infra/setup.sh loadtest
# shellcheck source=infra/loadtest-lib.sh
. "$REPO_ROOT/infra/loadtest-lib.sh"

levels="${BENCH_LEVELS:-1000 2000 3000 4000}"
hold="${BENCH_HOLD_SECONDS:-60}"
logins_per_second="${BENCH_LOGINS_PER_SECOND:-5}"
out="$REPO_ROOT/var/loadtest/viewers"
rm -rf "$out"
mkdir -p "$out"

export LOADTEST_EDGE=1
start_stack "$out"
export SEED_FILE="$out/seed.json"
seed_stack "$SEED_FILE" VIEWERS=50 VIDEOS=4 CLIP_SECONDS=60 CLIP_HEIGHT=480 SEED_TIMEOUT_SECONDS=600

# The figures of one level from its k6 summary, as one table row.
row_of() {
  # shellcheck disable=SC2016 # JavaScript for bun -e, which the shell must not expand
  bun -e '
    const [file, level, cpu, status] = process.argv.slice(1);
    const m = (await Bun.file(file).json()).metrics;
    const v = (name, key) => m[name]?.values?.[key] ?? NaN;
    const cells = [
      level,
      status === "0" ? "pass" : status === "99" ? "FAIL" : `k6 exit ${status}`,
      v("rebuffer_events", "count"),
      (100 * v("errors", "rate")).toFixed(3) + " %",
      v("segment_download_ratio", "p(95)").toFixed(3),
      Math.round(v("time_to_first_segment", "p(95)")) + " ms",
      v("segments", "rate").toFixed(0),
      (v("data_received", "rate") * 8 / 1e6).toFixed(0),
      (v("rung_bandwidth", "avg") / 1e3).toFixed(0),
      cpu,
    ];
    console.log(`| ${cells.join(" | ")} |`);
  ' "$1" "$2" "$3" "$4"
}

# CPU seconds (user + system) of this shell's finished children, k6 among them: `times` must run in
# this shell itself (a $(…) subshell has children of its own), so it is recorded to a file first.
record_children_cpu() { times >"$out/times.txt"; }
recorded_children_cpu() {
  tail -n 1 "$out/times.txt" |
    awk '{ split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.1f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }'
}

table="| viewers | result | rebuffers | errors | segment time p95 / duration | first segment p95 | segments/s | Mb/s | mean rung kb/s | k6 CPU s |
| ------: | ------ | --------: | -----: | --------------------------: | ----------------: | ---------: | ---: | -------------: | -------: |"
best=0
for level in $levels; do
  ramp=$(((level + logins_per_second - 1) / logins_per_second))
  ((ramp < 10)) && ramp=10
  step "$level concurrent viewers: ramp ${ramp} s, hold ${hold} s"
  mkdir -p "$out/$level"
  record_children_cpu
  cpu_before="$(recorded_children_cpu)"
  status=0
  run_k6_script "$out/$level" streaming -e RAMP="${ramp}s:$level,${hold}s:$level" -e WATCH_SECONDS="$hold" \
    >/dev/null || status=$?
  record_children_cpu
  cpu="$(awk -v a="$(recorded_children_cpu)" -v b="$cpu_before" 'BEGIN { printf "%.0f", a - b }')"
  kill -0 "$stack_pid" 2>/dev/null || die "the stack died at $level viewers (see $out/stack)"
  table+=$'\n'"$(row_of "$out/$level/streaming-summary.json" "$level" "$cpu" "$status")"
  printf '%s\n' "$table" | tail -n 1
  if [[ $status -ne 0 ]]; then break; fi
  best=$level
done

stop_stack
printf '\n%s\n\n' "$table"
step "largest level with no rebuffering and every threshold held: $best concurrent viewers (of: $levels)"
last_level="${levels##* }"
if [[ "$best" == "$last_level" ]]; then
  note "every level held: the limit is higher; try larger BENCH_LEVELS"
elif [[ "$best" == 0 ]]; then
  note "no level held: try smaller BENCH_LEVELS (the table says which threshold failed)"
fi
