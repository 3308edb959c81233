# shellcheck shell=bash
# The throwaway stack of the load tests (load-tests/stack.ts) as shell functions, shared by
# infra/loadtest-smoke.sh (CI) and infra/bench/viewers.sh (the concurrent-viewer ramp), with the latter's
# plain nginx baseline (infra/bench/viewers-baseline.ts). Source it after infra/lib/output.sh, dev-env.sh
# (terminate_and_wait) and go-tools.sh (K6_BIN); it defines functions and their state (stack_pid,
# baseline_pid, waited_pid).
#
# Interrupted (Ctrl-C, SIGTERM, also through `bun run`, a timeout), the script stops everything it
# started: start_stack traps INT, TERM and EXIT, and the long steps (seeding, k6) run in the background
# and are waited for, so that the trap runs at once rather than after them.

stack_pid=""
baseline_pid=""
waited_pid=""
# The script's own stdout and stderr, for the traps: a signal may come while a step's output goes to a
# file (k6's summary) or nowhere (the seeding), and what the traps say must reach the person waiting.
exec {script_stdout}>&1 {script_stderr}>&2

# The stack and the baseline run in sessions of their own (a Ctrl-C reaches this shell, whose trap stops
# them in order; stop_* reach what they left through their process groups), and get SIGTERM from the
# kernel should this shell die without running its trap (SIGKILL): setpriv's parent-death signal.
# The long steps (seeding, k6) get the same signal, so that a killed shell leaves no k6 at work.
own_session=(setsid)
with_parent=()
if command -v setpriv >/dev/null 2>&1; then
  own_session+=(setpriv --pdeathsig TERM --)
  with_parent=(setpriv --pdeathsig TERM --)
fi

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

# stop_baseline: the same for the baseline nginx, when one was started.
stop_baseline() {
  [[ -n "$baseline_pid" ]] || return 0
  if kill -0 "$baseline_pid" 2>/dev/null; then
    step "stopping the baseline"
    terminate_and_wait "$baseline_pid" || warn "the baseline did not stop within 30 s; killing it"
  fi
  kill -KILL -- "-$baseline_pid" 2>/dev/null || true
  wait "$baseline_pid" 2>/dev/null || true
  baseline_pid=""
}

# On every exit. A second Ctrl-C must not cut the orderly stop short (each stop is bounded).
stop_everything() {
  trap '' INT TERM
  exec 1>&"$script_stdout" 2>&"$script_stderr"
  stop_baseline
  stop_stack
}

loadtest_interrupted() {
  exec 1>&"$script_stdout" 2>&"$script_stderr"
  warn "interrupted"
  if [[ -n "$waited_pid" ]]; then kill -TERM "$waited_pid" 2>/dev/null || true; fi
  exit 130
}

# run_waited <command…>: runs it in the background and waits for it, so that a signal reaches the trap
# (which stops it) at once; returns its exit status.
run_waited() {
  local status=0
  "${with_parent[@]}" "$@" &
  waited_pid=$!
  wait "$waited_pid" || status=$?
  waited_pid=""
  return "$status"
}

# start_stack <dir>: starts load-tests/stack.ts with its logs in <dir>/stack, waits until it is ready
# and loads its stack.env (BASE_URL, ADMIN_EMAIL, ADMIN_PASSWORD, MAIL_DIR) into this shell.
start_stack() {
  local dir="$1"
  trap stop_everything EXIT
  trap loadtest_interrupted INT TERM
  step "starting a throwaway stack (logs in $dir/stack)"
  "${own_session[@]}" bun load-tests/stack.ts "$dir/stack" >"$dir/stack.out" 2>&1 &
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

# start_baseline <stack dir> <dir>: the plain nginx of bench:viewers with the running stack's files
# (<stack dir>/stack.json) and SEED_FILE's viewers and videos; waits until it listens and loads its
# baseline.env (BASELINE_URL) into this shell.
start_baseline() {
  local stack_dir="$1" dir="$2"
  step "starting the baseline: plain nginx with the stack's files and no checks"
  "${own_session[@]}" bun infra/bench/viewers-baseline.ts "$stack_dir/stack.json" "$SEED_FILE" "$dir" &
  baseline_pid=$!
  for _ in $(seq 1 120); do
    [[ -f "$dir/baseline.env" ]] && break
    kill -0 "$baseline_pid" 2>/dev/null || die "the baseline nginx did not start"
    sleep 0.25
  done
  [[ -f "$dir/baseline.env" ]] || die "the baseline nginx did not listen within 30 s"
  # shellcheck disable=SC1091
  . "$dir/baseline.env"
}

# seed_stack <seed.json> [VAR=value…]: viewers and transcoded clips through the real api.
seed_stack() {
  local out="$1"
  shift
  step "seeding viewers and transcoded clips"
  run_waited env "$@" SEED_OUT="$out" BASE_URL="$BASE_URL" ADMIN_EMAIL="$ADMIN_EMAIL" \
    ADMIN_PASSWORD="$ADMIN_PASSWORD" MAIL_DIR="$MAIL_DIR" bun load-tests/seed.ts >/dev/null || die "seeding failed"
}

# run_k6_script <summary dir> <script> [k6 run arguments…]: runs load-tests/<script>.js against the
# stack, tees its summary to <summary dir>/<script>.txt; returns k6's exit status (99: thresholds).
run_k6_script() {
  local summaries="$1" script="$2"
  shift 2
  local status=0
  run_waited env K6_NO_USAGE_REPORT=true "$K6_BIN" run --quiet \
    -e BASE_URL="$BASE_URL" -e SEED_FILE="$SEED_FILE" -e SUMMARY_DIR="$summaries" "$@" \
    "load-tests/$script.js" > >(tee "$summaries/$script.txt") 2>&1 || status=$?
  return "$status"
}
