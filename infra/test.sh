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

check "bun run typecheck" bun run typecheck
check "bun run lint" bun run lint
check "bun test${*:+ $*}" bun test "$@"

if [[ ${#failed[@]} -gt 0 ]]; then
  die "failed: $(printf '%s; ' "${failed[@]}" | sed 's/; $//')"
fi
step "all checks passed: typecheck, lint, tests"
