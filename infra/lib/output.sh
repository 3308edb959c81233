# shellcheck shell=bash
# What the infra scripts print, and the check runner of those that run many checks (npm test,
# check:ops). Source it first; it only defines functions (and REPO_ROOT).

# Repository root: two levels above this file (the scripts cd there; the other libs build paths on it).
# shellcheck disable=SC2034
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

step() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# check <name> <command…>: one check of a script that runs them all (npm test, check:ops). A failure is
# warned about and recorded in checks_failed; it never stops the script. end_checks closes the run.
checks_failed=()
check() {
  local name="$1"
  shift
  step "$name"
  if "$@"; then return 0; fi
  checks_failed+=("$name")
  warn "$name failed"
}
# end_checks: exits non-zero naming every failed check, if any.
end_checks() {
  if [[ ${#checks_failed[@]} -gt 0 ]]; then
    die "failed: $(printf '%s; ' "${checks_failed[@]}" | sed 's/; $//')"
  fi
}
