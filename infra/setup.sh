#!/usr/bin/env bash
# Installs what the project needs when it is missing, and nothing when it is all there:
#   bash infra/setup.sh up     bun, redis-server, ffmpeg, nginx, openssl, setpriv, node_modules (npm run up)
#   bash infra/setup.sh up --s3    the same plus SeaweedFS (npm run up -- --s3, or LOCAL_S3=1)
#   bash infra/setup.sh test   the same plus PostgreSQL server binaries, setpriv, chromium, shellcheck, k6
#                              and SeaweedFS (npm test)
#   bash infra/setup.sh loadtest   PostgreSQL, Redis, ffmpeg, setpriv, node_modules and k6 (npm run loadtest:smoke)
#   bash infra/setup.sh bench      PostgreSQL, Redis, ffmpeg, taskset, wrk, nginx, node_modules (every bench:*)
#   bash infra/setup.sh bench --s3     the same plus SeaweedFS (bench:storage)
#   bash infra/setup.sh        everything of the above, also wrk (benchmarks)
#   … --without-go-tools       everything but the Go-built tools (k6, SeaweedFS): npm test builds those in
#                              the background itself (infra/build-go-tools.sh) while its first checks run
# Debian packages come from apt (one update, one install, only for what is missing); bun from npm.
set -euo pipefail
lib="$(dirname "${BASH_SOURCE[0]}")/lib"
# shellcheck source=infra/lib/output.sh
. "$lib/output.sh"
# shellcheck source=infra/lib/packages.sh
. "$lib/packages.sh"
# shellcheck source=infra/lib/go-tools.sh
. "$lib/go-tools.sh"

purpose="${1:-all}"
local_s3=""
go_tools=1
for flag in "${@:2}"; do
  case "$flag" in
    --s3) local_s3=1 ;;
    --without-go-tools) go_tools="" ;;
    *) die "unknown option '$flag' (--s3, --without-go-tools)" ;;
  esac
done
if [[ "${LOCAL_S3:-}" == "1" ]]; then local_s3=1; fi
case "$purpose" in
  # ffmpeg is for the transcoder; installed already so the machine is ready for it.
  # nginx: the edge in front of the api (it sends token-signed segments itself).
  # openssl: the self-signed certificate of `npm run up -- --tls`.
  # util-linux: setpriv, with which a root `npm run up` runs the api and transcoders unprivileged.
  up) packages=(redis-server ffmpeg nginx openssl util-linux) ;;
  # postgresql: initdb/postgres for the tests' throwaway server (Debian's own cluster is not created);
  # util-linux: setpriv, with which a root test run starts PostgreSQL as the postgres user.
  # chromium: the browser playback test; shellcheck: infra/check-ops.sh (npm test runs both);
  # openssl: the certificates of the edge's HTTPS tests.
  test) packages=(redis-server postgresql ffmpeg util-linux chromium nginx openssl shellcheck) ;;
  # nginx: the edge, and the baseline of `bench:segments`.
  # The load-test smoke starts throwaway PostgreSQL and Redis like the tests do; k6 is built below.
  loadtest) packages=(redis-server postgresql ffmpeg util-linux nginx) ;;
  # The benchmarks: wrk drives the HTTP ones, nginx is the baseline of bench:segments, taskset (util-linux)
  # pins bench:websocket's sides; Go for its client fleet comes from infra/bench/ws-fleet.ts on demand.
  bench) packages=(redis-server postgresql ffmpeg util-linux wrk nginx) ;;
  all) packages=(redis-server postgresql ffmpeg util-linux wrk nginx openssl chromium shellcheck) ;;
  *) die "usage: infra/setup.sh [up [--s3]|test|loadtest|bench [--s3]|all] (got '$purpose')" ;;
esac

step "checking prerequisites for '$purpose'"
ensure_bun
ensure_packages "${packages[@]}"
ensure_node_modules
[[ -n "$go_tools" ]] || exit 0
# k6 is a Go build (minutes the first time), so only the load tests (and npm test, which runs their
# smoke) ask for it.
if [[ "$purpose" == "loadtest" || "$purpose" == "test" ]]; then ensure_k6; fi
# SeaweedFS (weed) is a Go build too: the tests' S3 server always, the local stack's only when asked.
if [[ "$purpose" == "test" || "$purpose" == "all" || -n "$local_s3" ]]; then ensure_seaweedfs; fi
