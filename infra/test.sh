#!/usr/bin/env bash
# `npm test`: installs what is missing, then typecheck, lint, the import directions (infra/check-deps.ts),
# the whole bun test suite with coverage (infra/check-coverage.ts holds it to its floors), the chaos suite
# (infra/chaos/run.ts: faults injected into a running farm), the ops checks (compose files, Dockerfiles,
# Prometheus config, shell scripts: infra/check-ops.sh) and the k6 load-test smoke through the nginx edge
# (infra/loadtest-smoke.sh). Every check runs even when an earlier one failed, and the exit status is
# non-zero when any of them failed.
# Extra arguments go to `bun test` (e.g. `npm test -- tests/api` or `npm test -- -t refresh`); such a
# partial run says so and leaves out coverage, the chaos suite, the ops checks and the smoke.
set -euo pipefail
lib="$(dirname "${BASH_SOURCE[0]}")/lib"
# shellcheck source=infra/lib/output.sh
. "$lib/output.sh"
# shellcheck source=infra/lib/packages.sh
. "$lib/packages.sh"
# shellcheck source=infra/lib/go-tools.sh
. "$lib/go-tools.sh"
# shellcheck source=infra/lib/dev-env.sh
. "$lib/dev-env.sh"
cd "$REPO_ROOT"

# --- Go tools: on a cold machine the longest step (docs/operations.md, "What a cold npm test costs") ------
# They build in the background from the start: SeaweedFS, which the S3 test files need (a full run runs
# the others meanwhile), at normal priority; what only the ops checks and the smoke need (a full run only)
# at the lowest, so it takes just the CPU that the SeaweedFS build, the packages, typecheck, lint and then
# bun test leave idle. A Go toolchain comes
# first: fetching one may need apt, which setup.sh runs next.
bash infra/build-go-tools.sh
build_go_tools_in_background weed weed
if [[ $# -eq 0 ]]; then
  GO_TOOLS_NICE=19 build_go_tools_in_background ops k6 docker-compose dockerfile-lint
fi
bash infra/setup.sh test --without-go-tools
# tests/dev/stack.test.ts runs a root stack's api, transcoders and Redis as the service account, as
# `npm run up` does: make it here too, or a fresh machine that never ran `npm run up` has none (and falls
# back to nobody, which the edge's workers already are: refused).
ensure_service_account


# bun test runs its files in TEST_PARALLEL worker processes (bun test --parallel: a process per file at a
# time, each with its own throwaway Redis and SeaweedFS; default the machine's cores, at most 4; 1 runs
# them in one process as before). Most files wait on servers, FFmpeg or a browser for much of their
# time, so two workers on two cores finish the suite in about three quarters of one's time
# (docs/operations.md, "bun test in parallel"). infra/test-timings.json (per-file durations of a run)
# lets them start the longest files first, so no long file starts last.
test_parallel_args=()
cores="$(nproc 2>/dev/null || echo 1)"
test_parallel="${TEST_PARALLEL:-$((cores < 4 ? cores : 4))}"
[[ "$test_parallel" =~ ^[1-9][0-9]*$ ]] || die "TEST_PARALLEL must be a whole number of worker processes, 1 or more (got '$test_parallel')"
if [[ "$test_parallel" -gt 1 ]]; then
  test_parallel_args=(--parallel="$test_parallel" --timings=infra/test-timings.json)
fi

# bun test; its pass/fail/skip counts are added to tests_passed/tests_failed/tests_skipped, which the closing
# line (print_test_totals) reports in the plain "N passed, N failed" form that CI tooling reads.
tests_passed=0 tests_failed=0 tests_skipped=0 tests_counted=false
# The "(fail) …" lines of every bun test run, repeated after the last check (print_failed_tests) so the
# tail of a CI log names the failing tests and not only the failing step (each once: bun's closing
# summary, which repeats them under no file's name, is left out).
failed_tests=()
run_tests() {
  local output status=0
  output="$(mktemp)"
  # --timeout: hooks too (tests/setup.ts's setDefaultTimeout reaches only tests; a beforeAll/afterAll that
  # starts or stops real servers would otherwise get bun's 5 s); a test's own timeout still wins.
  env ${test_env[@]+"${test_env[@]}"} TEST_PARALLEL="$test_parallel" bun test --timeout 30000 ${test_parallel_args[@]+"${test_parallel_args[@]}"} "$@" 2>&1 |
    tee "$output" || status=$?
  local passed failed skipped
  passed="$(sed -nE 's/^ *([0-9]+) pass$/\1/p' "$output" | tail -n 1)"
  failed="$(sed -nE 's/^ *([0-9]+) fail$/\1/p' "$output" | tail -n 1)"
  skipped="$(sed -nE 's/^ *([0-9]+) skip$/\1/p' "$output" | tail -n 1)"
  local line
  while IFS= read -r line; do failed_tests+=("$line"); done < <(awk '/^[0-9]+ tests? failed:$/ { summary = 1 } /^[^ ].*\.test\.tsx?:$/ { file = $0 } !summary && /^\(fail\) / { print file " " $0 }' "$output")
  rm -f "$output"
  if [[ -n "$passed" || -n "$failed" ]]; then
    tests_counted=true
    tests_passed=$((tests_passed + ${passed:-0}))
    tests_failed=$((tests_failed + ${failed:-0}))
    tests_skipped=$((tests_skipped + ${skipped:-0}))
  fi
  return "$status"
}
print_test_totals() {
  [[ "$tests_counted" == true ]] || return 0
  local skipped=""
  [[ $tests_skipped -eq 0 ]] || skipped=", $tests_skipped skipped"
  printf 'tests: %s passed, %s failed%s\n' "$tests_passed" "$tests_failed" "$skipped"
}
print_failed_tests() {
  [[ ${#failed_tests[@]} -gt 0 ]] || return 0
  warn "the tests that failed:"
  printf '    %s\n' "${failed_tests[@]}" >&2
}

# The full run's split (below) is read beside typecheck and lint, off the critical path of a warm machine,
# and its two bun test processes share one throwaway PostgreSQL (dev/test-postgres.ts) started meanwhile
# instead of starting one each; TEST_DATABASE_URL, when set, names one already.
test_env=()
test_postgres_pid=""
stop_test_postgres() {
  [[ -n "$test_postgres_pid" ]] || return 0
  kill "$test_postgres_pid" 2>/dev/null || true
  wait "$test_postgres_pid" 2>/dev/null || true
  test_postgres_pid=""
}
# The URL dev/test-postgres.ts prints, into test_env; without it each bun test starts its own server.
use_test_postgres() {
  [[ -n "$test_postgres_pid" ]] || return 0
  local url="" waited=0
  while [[ -z "$url" && $waited -lt 600 ]] && kill -0 "$test_postgres_pid" 2>/dev/null; do
    url="$(head -n 1 "$test_postgres_url")"
    [[ -n "$url" ]] || { sleep 0.1; waited=$((waited + 1)); }
  done
  rm -f "$test_postgres_url"
  if [[ -z "$url" ]]; then
    warn "dev/test-postgres.ts gave no server: each bun test starts its own PostgreSQL"
    stop_test_postgres
    return 0
  fi
  test_env=("TEST_DATABASE_URL=$url")
}
if [[ $# -eq 0 ]]; then
  split_list="$(mktemp)" split_log="$(mktemp)"
  bun infra/test-phases.ts >"$split_list" 2>"$split_log" &
  split_pid=$!
  if [[ -z "${TEST_DATABASE_URL:-}" ]]; then
    test_postgres_url="$(mktemp)"
    bun dev/test-postgres.ts >"$test_postgres_url" &
    test_postgres_pid=$!
    trap 'stop_test_postgres; stop_go_tool_builds' EXIT
  fi
fi
check "bun run typecheck" bun run typecheck
check "bun run lint" bun run lint
check "import directions (check:deps)" bun run check:deps
if [[ $# -eq 0 ]]; then
  # The full run in two bun test processes, each with its own coverage, merged into var/coverage/lcov.info
  # for check:coverage: first every file that starts no SeaweedFS, while `weed` may still be building, then
  # those that do (infra/test-phases.ts finds them in the source). In the first, weedBinary() throws, so a
  # file that starts one in a way the reading missed fails loudly there, on every machine, cold or not.
  rm -rf var/coverage
  seaweedfs_tests=()
  run_tests_without_seaweedfs() {
    SEAWEEDFS_UNAVAILABLE="npm test ran this file before SeaweedFS was built: infra/test-phases.ts found no \
path from it to weedBinary(). Make the path visible in its imports (one through a child process is not)" \
      run_tests "$@"
  }
  split_tests() {
    local status=0
    wait "$split_pid" || status=$?
    cat "$split_log" >&2
    mapfile -t seaweedfs_tests <"$split_list"
    rm -f "$split_list" "$split_log"
    return "$status"
  }
  use_test_postgres
  if check "test files that start a SeaweedFS (infra/test-phases.ts)" split_tests; then
    ignored=()
    for file in "${seaweedfs_tests[@]}"; do ignored+=("--path-ignore-patterns=$file"); done
    check "bun test: the files that start no SeaweedFS" run_tests_without_seaweedfs --coverage \
      --coverage-reporter=lcov --coverage-dir=var/coverage/without-seaweedfs "${ignored[@]}"
    check "SeaweedFS for bun test (infra/build-go-tools.sh weed)" await_go_tools weed
    if [[ ${#seaweedfs_tests[@]} -gt 0 ]]; then
      check "bun test: the ${#seaweedfs_tests[@]} files that start a SeaweedFS" run_tests --coverage \
        --coverage-reporter=lcov --coverage-dir=var/coverage/seaweedfs "${seaweedfs_tests[@]/#/./}"
    fi
  else
    # Without the split, as before it: every file in one process once SeaweedFS is built.
    check "SeaweedFS for bun test (infra/build-go-tools.sh weed)" await_go_tools weed
    check "bun test" run_tests --coverage --coverage-reporter=lcov --coverage-dir=var/coverage/all
  fi
  stop_test_postgres
  print_test_totals
  check "coverage: one lcov file of the bun test processes" \
    bun infra/check-coverage/merge.ts var/coverage/lcov.info var/coverage/*/lcov.info
else
  check "SeaweedFS for bun test (infra/build-go-tools.sh weed)" await_go_tools weed
  check "bun test $*" run_tests "$@"
  print_test_totals
fi
if [[ $# -eq 0 ]]; then
  check "coverage: api/, transcoder/, storage/, contract/ (check:coverage)" bun run check:coverage
  # Not *.test.ts, so bun test never runs it: it starts its own stores and processes, once, here.
  check "chaos suite (bun run chaos)" bun run chaos
  check "Go tools for the ops checks and the smoke" await_go_tools ops
  check "ops: compose, Dockerfiles, Prometheus config, shell scripts" bash infra/check-ops.sh
  check "load-test smoke (k6 through the nginx edge)" env LOADTEST_EDGE=1 bash infra/loadtest-smoke.sh
else
  note "bun test $* only: coverage, the chaos suite, the ops checks and the load-test smoke run with plain \`npm test\`"
fi

print_failed_tests
end_checks
if [[ $# -eq 0 ]]; then
  step "all checks passed: typecheck, lint, import directions, tests, coverage, chaos, ops, load-test smoke"
else
  step "all checks passed: typecheck, lint, import directions, bun test $*"
fi
