#!/usr/bin/env bash
# `npm test`: installs what is missing, then typecheck, lint, the import directions (infra/check-deps.ts),
# the whole bun test suite, the chaos suite (infra/chaos/run.ts: faults injected into a running farm), the
# ops checks (compose files, Dockerfiles, Prometheus config, shell scripts: infra/check-ops.sh) and the k6
# load-test smoke through the nginx edge (infra/loadtest-smoke.sh). Every
# check runs even when an earlier one failed, and the exit status is non-zero when any of them failed.
# Extra arguments go to `bun test` (e.g. `npm test -- tests/api` or `npm test -- -t refresh`); such a
# partial run says so and leaves out the chaos suite, the ops checks and the smoke.
set -euo pipefail
lib="$(dirname "${BASH_SOURCE[0]}")/lib"
# shellcheck source=infra/lib/output.sh
. "$lib/output.sh"
cd "$REPO_ROOT"

bash infra/setup.sh test


# bun test, plus one closing line in the plain "N passed, N failed" form that CI tooling reads.
run_tests() {
  local output status=0
  output="$(mktemp)"
  bun test "$@" 2>&1 | tee "$output" || status=$?
  local passed failed skipped
  passed="$(sed -nE 's/^ *([0-9]+) pass$/\1/p' "$output" | tail -n 1)"
  failed="$(sed -nE 's/^ *([0-9]+) fail$/\1/p' "$output" | tail -n 1)"
  skipped="$(sed -nE 's/^ *([0-9]+) skip$/\1/p' "$output" | tail -n 1)"
  rm -f "$output"
  if [[ -n "$passed" || -n "$failed" ]]; then
    printf 'tests: %s passed, %s failed%s\n' "${passed:-0}" "${failed:-0}" "${skipped:+, $skipped skipped}"
  fi
  return "$status"
}

check "bun run typecheck" bun run typecheck
check "bun run lint" bun run lint
check "import directions (check:deps)" bun run check:deps
check "bun test${*:+ $*}" run_tests "$@"
if [[ $# -eq 0 ]]; then
  # Not *.test.ts, so bun test never runs it: it starts its own stores and processes, once, here.
  check "chaos suite (bun run chaos)" bun run chaos
  check "ops: compose, Dockerfiles, Prometheus config, shell scripts" bash infra/check-ops.sh
  check "load-test smoke (k6 through the nginx edge)" env LOADTEST_EDGE=1 bash infra/loadtest-smoke.sh
else
  note "bun test $* only: the chaos suite, the ops checks and the load-test smoke run with plain \`npm test\`"
fi

end_checks
if [[ $# -eq 0 ]]; then
  step "all checks passed: typecheck, lint, import directions, tests, chaos, ops, load-test smoke"
else
  step "all checks passed: typecheck, lint, import directions, bun test $*"
fi
