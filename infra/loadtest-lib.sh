# shellcheck shell=bash
# The throwaway stack of the load tests (load-tests/stack.ts) as shell functions, shared by
# infra/loadtest-smoke.sh (CI) and infra/bench/viewers.sh (the concurrent-viewer ramp). Source it after
# infra/lib/output.sh, dev-env.sh (terminate_and_wait) and go-tools.sh (K6_BIN); it defines functions
# and two traps' worth of state (stack_pid, k6_pid).

stack_pid=""
k6_pid=""

# stop_stack: SIGTERM to the stack (it stops the api, transcoder, edge, PostgreSQL and Redis it
# started), then SIGKILL to whatever is left of its process group: never leak servers.
stop_stack() {
  [[ -n "$stack_pid" ]] || return 0
  if kill -0 "$stack_pid" 2>/dev/null; then
    step "stopping the stack"
    terminate_and_wait "$stack_pid" || warn "the stack did not stop within 30 s; killing it"
  fi
  kill -KILL -- "-$stack_pid" 2>/dev/null || true
  wait "$stack_pid" 2>/dev/null || true
  stack_pid=""
}

loadtest_interrupted() {
  warn "interrupted"
  if [[ -n "$k6_pid" ]]; then kill -TERM "$k6_pid" 2>/dev/null || true; fi
  exit 130
}

# start_stack <dir>: starts load-tests/stack.ts with its logs in <dir>/stack, waits until it is ready
# and loads its stack.env (BASE_URL, ADMIN_EMAIL, ADMIN_PASSWORD, MAIL_DIR) into this shell.
start_stack() {
  local dir="$1"
  trap stop_stack EXIT
  trap loadtest_interrupted INT TERM
  step "starting a throwaway stack (logs in $dir/stack)"
  # Its own session and process group, so that stop_stack can also reach what it started.
  setsid bun load-tests/stack.ts "$dir/stack" >"$dir/stack.out" 2>&1 &
  stack_pid=$!
  for _ in $(seq 1 240); do
    [[ -f "$dir/stack/stack.json" ]] && break
    kill -0 "$stack_pid" 2>/dev/null || {
      cat "$dir/stack.out" >&2
      die "the stack did not start"
    }
    sleep 0.25
  done
  [[ -f "$dir/stack/stack.json" ]] || die "the stack was not ready within 60 s; see $dir/stack"
  # shellcheck disable=SC1091
  . "$dir/stack/stack.env"
  note "api at $BASE_URL"
}

# seed_stack <seed.json> [VAR=value…]: viewers and transcoded clips through the real api.
seed_stack() {
  local out="$1"
  shift
  step "seeding viewers and transcoded clips"
  env "$@" SEED_OUT="$out" BASE_URL="$BASE_URL" ADMIN_EMAIL="$ADMIN_EMAIL" ADMIN_PASSWORD="$ADMIN_PASSWORD" \
    MAIL_DIR="$MAIL_DIR" bun load-tests/seed.ts >/dev/null || die "seeding failed"
}

# run_k6_script <summary dir> <script> [k6 run arguments…]: runs load-tests/<script>.js against the
# stack, tees its summary to <summary dir>/<script>.txt; returns k6's exit status (99: thresholds).
run_k6_script() {
  local summaries="$1" script="$2"
  shift 2
  local status=0
  # In the background and waited for, so that a signal reaches the trap (and k6) at once.
  K6_NO_USAGE_REPORT=true "$K6_BIN" run --quiet \
    -e BASE_URL="$BASE_URL" -e SEED_FILE="$SEED_FILE" -e SUMMARY_DIR="$summaries" "$@" \
    "load-tests/$script.js" > >(tee "$summaries/$script.txt") 2>&1 &
  k6_pid=$!
  wait "$k6_pid" || status=$?
  k6_pid=""
  return "$status"
}
