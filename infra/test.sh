#!/usr/bin/env bash
# `npm test`: installs what is missing, then typecheck, lint and the whole bun test suite. Every check
# runs even when an earlier one failed, and the exit status is non-zero when any of them failed.
# Extra arguments go to `bun test` (e.g. `npm test -- tests/api` or `npm test -- -t refresh`).
set -euo pipefail
# shellcheck source=infra/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

bash infra/setup.sh test

failed=()
check() {
  local name="$1"
  shift
  step "$name"
  if "$@"; then return 0; fi
  failed+=("$name")
  warn "$name failed"
}

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
check "bun test${*:+ $*}" run_tests "$@"

if [[ ${#failed[@]} -gt 0 ]]; then
  die "failed: $(printf '%s; ' "${failed[@]}" | sed 's/; $//')"
fi
step "all checks passed: typecheck, lint, tests"
