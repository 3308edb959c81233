#!/usr/bin/env bash
# Builds the named Go tools into ./var/tools/bin when missing or out of date, one after another so that
# what they share compiles once in Go's build cache, and says how long each took:
#   bash infra/build-go-tools.sh weed k6 docker-compose dockerfile-lint
#   bash infra/build-go-tools.sh       only a Go toolchain (fetched when the machine has none)
# npm test (infra/test.sh) runs it in the background while its first checks run; a tool's own script
# (check-ops.sh, loadtest-smoke.sh, setup.sh) builds it as well when it is missing, so nothing depends on it.
set -euo pipefail
lib="$(dirname "${BASH_SOURCE[0]}")/lib"
# shellcheck source=infra/lib/output.sh
. "$lib/output.sh"
# shellcheck source=infra/lib/packages.sh
. "$lib/packages.sh"
# shellcheck source=infra/lib/go-tools.sh
. "$lib/go-tools.sh"

ensure_go
for tool in "$@"; do
  started=$SECONDS
  case "$tool" in
    weed) ensure_seaweedfs ;;
    k6) ensure_k6 ;;
    docker-compose) ensure_compose ;;
    dockerfile-lint) ensure_dockerfile_lint ;;
    *) die "unknown Go tool '$tool' (weed, k6, docker-compose, dockerfile-lint)" ;;
  esac
  note "$tool ready ($((SECONDS - started)) s)"
done
