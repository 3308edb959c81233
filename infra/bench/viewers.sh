#!/usr/bin/env bash
# `bun run bench:viewers`: the most concurrent real-time viewers the stack holds on this machine with no
# rebuffering, against a same-run baseline, both found by the same ramp. Starts the load-test stack with
# the nginx edge in front (PostgreSQL, Redis, api, one transcoder, edge: load-tests/stack.ts), seeds
# viewers and 60 s clips, then climbs load-tests/streaming.js's staircase (LEVELS) twice: against the
# stack, then against a plain nginx serving the same files with no access check (infra/bench/
# viewers-baseline.ts). Each step: viewers join at BENCH_JOIN_PER_SECOND up to the level, which holds
# for BENCH_HOLD_SECONDS; a level passes when every threshold of streaming.js holds over it (no rebuffer,
# errors < 0.1%, p95 segment download < 20% of the segment's duration, p95 time to first segment < 2 s),
# and a rebuffer ends that side's climb. Prints both tables and ours / baseline (goal ≥ 0.9,
# infra/bench/viewers-report.ts); summaries in var/loadtest/viewers/{ours,baseline}/.
#
# BENCH_LEVEL_STEP (250) and BENCH_MAX_LEVEL (3000) make the levels 250, 500, … 3000; BENCH_LEVELS
# ("250,500,…") sets them outright. BENCH_JOIN_PER_SECOND (25), BENCH_HOLD_SECONDS (30). At the
# defaults one climb to 3000 takes 7.5 minutes; a side stops at its first rebuffer. BENCH_VIDEOS (4) clips
# of BENCH_CLIP_SECONDS (60) are seeded.
# Viewers share the seeded accounts' sessions (SIGN_IN=setup: one argon2id sign-in per account, not per
# viewer), so that a level measures watching; sign-ins have bench:auth and load-tests/api.js.
# Interrupted (Ctrl-C, SIGTERM, a timeout), it stops the stack and the baseline it started
# (infra/loadtest-lib.sh).
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

level_step="${BENCH_LEVEL_STEP:-250}"
max_level="${BENCH_MAX_LEVEL:-3000}"
export BENCH_LEVELS="${BENCH_LEVELS:-$(seq -s, "$level_step" "$level_step" "$max_level")}"
export BENCH_JOIN_PER_SECOND="${BENCH_JOIN_PER_SECOND:-25}"
export BENCH_HOLD_SECONDS="${BENCH_HOLD_SECONDS:-30}"
out="$REPO_ROOT/var/loadtest/viewers"
rm -rf "$out"
mkdir -p "$out/ours" "$out/baseline/nginx"

export LOADTEST_EDGE=1
start_stack "$out"
export SEED_FILE="$out/seed.json"
seed_stack "$SEED_FILE" VIEWERS=50 VIDEOS="${BENCH_VIDEOS:-4}" CLIP_SECONDS="${BENCH_CLIP_SECONDS:-60}" CLIP_HEIGHT=480 \
  SEED_TIMEOUT_SECONDS=600

start_baseline "$out/stack" "$out/baseline/nginx"

# CPU seconds (user + system) of this shell's finished children, k6 among them: `times` must run in
# this shell itself (a $(…) subshell has children of its own), so it is recorded to a file first.
record_children_cpu() { times >"$out/times.txt"; }
recorded_children_cpu() {
  tail -n 1 "$out/times.txt" |
    awk '{ split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.1f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }'
}

# climb <summary dir> <base url>: the staircase against one side; prints k6's CPU seconds last.
climb() {
  local summaries="$1" status=0 before
  record_children_cpu
  before="$(recorded_children_cpu)"
  BASE_URL="$2" run_k6_script "$summaries" streaming -e LEVELS="$BENCH_LEVELS" \
    -e JOIN_PER_SECOND="$BENCH_JOIN_PER_SECOND" -e STEP_HOLD_SECONDS="$BENCH_HOLD_SECONDS" -e SIGN_IN=setup \
    >/dev/null || status=$?
  # 99: a threshold failed (the climb found its top); anything else is k6 itself failing.
  [[ $status -eq 0 || $status -eq 99 ]] || die "k6 failed (exit $status); see $summaries/streaming.txt"
  record_children_cpu
  awk -v a="$(recorded_children_cpu)" -v b="$before" 'BEGIN { printf "%.0f", a - b }' >"$summaries/k6-cpu.txt"
}

step "ours: levels $BENCH_LEVELS through the edge ($BENCH_JOIN_PER_SECOND joins/s, ${BENCH_HOLD_SECONDS} s per level)"
climb "$out/ours" "$BASE_URL"
kill -0 "$stack_pid" 2>/dev/null || die "the stack died during the climb (see $out/stack)"
step "baseline: the same levels against plain nginx at $BASELINE_URL"
climb "$out/baseline" "$BASELINE_URL"

stop_baseline
stop_stack
OURS_K6_CPU="$(cat "$out/ours/k6-cpu.txt")" BASELINE_K6_CPU="$(cat "$out/baseline/k6-cpu.txt")" \
  bun infra/bench/viewers-report.ts "$out/ours/streaming-summary.json" "$out/baseline/streaming-summary.json"
