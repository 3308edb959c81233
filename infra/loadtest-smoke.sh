#!/usr/bin/env bash
# `npm run loadtest:smoke`: the k6 load tests as a short CI smoke on a throwaway stack. Installs what is
# missing (k6 is built into ./var/tools/bin), starts PostgreSQL, Redis, the api and one transcoder on
# free ports (load-tests/stack.ts), seeds viewers and transcoded clips (load-tests/seed.ts), then runs
# streaming.js, api.js and websocket.js for a few VUs and tens of seconds each. Exits non-zero when a
# k6 threshold fails (k6 exits 99), a script errors, or anything before it fails; the stack is stopped
# on every exit. Summaries (text and JSON) and logs land in SMOKE_DIR (./var/loadtest/smoke).
set -euo pipefail
lib="$(dirname "${BASH_SOURCE[0]}")/lib"
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

out="${SMOKE_DIR:-$REPO_ROOT/var/loadtest/smoke}"
rm -rf "$out"
mkdir -p "$out/summaries"

# shellcheck source=infra/loadtest-lib.sh
. "$REPO_ROOT/infra/loadtest-lib.sh"

start_stack "$out"
export SEED_FILE="$out/seed.json"
seed_stack "$SEED_FILE" VIEWERS="${SMOKE_VIEWERS:-8}" VIDEOS="${SMOKE_VIDEOS:-3}" CLIP_SECONDS=12 \
  CLIP_HEIGHT=480 UPLOAD_CLIP_SECONDS=20 SEED_TIMEOUT_SECONDS=120

failed=()
run_k6() {
  local script="$1" status=0
  shift
  step "k6 $script"
  run_k6_script "$out/summaries" "$script" "$@" || status=$?
  case "$status" in
    0) ;;
    99) failed+=("$script (thresholds)") ;;
    *) failed+=("$script (k6 exit $status)") ;;
  esac
}

# A few VUs for tens of seconds: the smoke proves the scripts, the stack and the thresholds work
# together and catches gross regressions. CI machines are small and shared, so the sign-in latency
# budget (argon2 on two cores) is looser than for a real run; every other threshold is the default.
run_k6 streaming -e VUS=4 -e DURATION=20s -e WATCH_SECONDS=20
run_k6 api -e VUS=4 -e DURATION=15s -e THINK_SECONDS=0.2 -e LOGIN_RATE=30 -e LOGIN_P95_MS=5000
run_k6 websocket -e ADMIN_EMAIL="$ADMIN_EMAIL" -e ADMIN_PASSWORD="$ADMIN_PASSWORD" -e VUS=4 \
  -e SOCKETS_PER_VU=25 -e CONNECT_SECONDS=3 -e HOLD_SECONDS=20 -e PING_SECONDS=5

kill -0 "$stack_pid" 2>/dev/null || failed+=("the stack died during the run (see $out/stack)")
stop_stack
if [[ ${#failed[@]} -gt 0 ]]; then
  die "load-test smoke failed: $(printf '%s; ' "${failed[@]}" | sed 's/; $//') (summaries in $out/summaries)"
fi
step "load-test smoke passed: streaming, api, websocket (summaries in $out/summaries)"
