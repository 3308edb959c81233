# shellcheck shell=bash
# Shared helpers of the infra scripts (setup.sh, up.sh, test.sh). Source it; it only defines functions.

# The bun version the project is developed and tested with; installed from npm when bun is missing.
BUN_VERSION="1.4.5"
# Repository root: one level above this file.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

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

# terminate_and_wait <pid>: SIGTERM, then up to 30 s for the process to finish what it has in flight.
# Returns 1 when it is still running after that (the caller decides how to insist).
terminate_and_wait() {
  local pid="$1" waited=0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && [[ $waited -lt 150 ]]; do
    sleep 0.2
    waited=$((waited + 1))
  done
  ! kill -0 "$pid" 2>/dev/null
}

have() { command -v "$1" >/dev/null 2>&1; }

# Runs a command as root: directly when we are root, through sudo otherwise (non-interactive sudo when
# there is no terminal to type a password into, so CI fails at once instead of hanging).
as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    "$@"
  elif have sudo; then
    if [[ -t 0 ]]; then sudo "$@"; else sudo -n "$@"; fi
  else
    die "'$*' needs root, and this user is not root and sudo is not installed; run it as root or install sudo"
  fi
}

# The newest PostgreSQL server binary directory Debian installed (the tests run initdb/postgres from it).
postgres_bin_dir() {
  local dir
  for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k5,5 -rn); do
    [[ -x "$dir/initdb" && -x "$dir/postgres" ]] && {
      printf '%s\n' "$dir"
      return 0
    }
  done
  have initdb && have postgres && {
    dirname "$(command -v initdb)"
    return 0
  }
  return 1
}

# Does the Debian package that provides this requirement need installing? Requirements are checked by
# the command they provide (so a machine that has them some other way is left alone).
package_missing() {
  case "$1" in
    redis-server) ! have redis-server ;;
    postgresql) ! postgres_bin_dir >/dev/null ;;
    ffmpeg) ! { have ffmpeg && have ffprobe; } ;;
    util-linux) ! have setpriv ;;
    wrk) ! have wrk ;;
    nginx) ! { have nginx || [[ -x /usr/sbin/nginx ]]; } ;;
    *) ! dpkg -s "$1" >/dev/null 2>&1 ;;
  esac
}

# Installs the given Debian packages that are missing: one `apt-get update`, one `apt-get install`.
# Nothing at all happens (no apt) when everything is present.
ensure_packages() {
  local missing=() package
  for package in "$@"; do
    if package_missing "$package"; then missing+=("$package"); fi
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  have apt-get || die "missing: ${missing[*]}; this is not a Debian-like system (no apt-get): install them by hand"
  for package in "${missing[@]}"; do step "installing $package"; done
  as_root apt-get update -qq || die "apt-get update failed"
  local no_main_cluster=""
  if [[ " ${missing[*]} " == *" postgresql "* ]]; then
    # The tests start their own throwaway server: keep Debian from creating (and starting) its
    # `main` cluster while the package installs. The drop-in is removed again right after.
    no_main_cluster=/etc/postgresql-common/createcluster.d/00-videoflix-no-main-cluster.conf
    as_root mkdir -p "$(dirname "$no_main_cluster")"
    printf 'create_main_cluster = false\n' | as_root tee "$no_main_cluster" >/dev/null
  fi
  local status=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -q "${missing[@]}" ||
    status=$?
  [[ -n "$no_main_cluster" ]] && as_root rm -f "$no_main_cluster"
  [[ $status -eq 0 ]] || die "apt-get install of ${missing[*]} failed (exit $status)"
  for package in "${missing[@]}"; do
    if package_missing "$package"; then die "$package was installed but what it provides is still missing"; fi
  done
}

# Bun from npm (how the developer machines get it) when it is not on PATH yet.
ensure_bun() {
  if have bun; then
    local version
    version="$(bun --version)"
    [[ "$version" == "$BUN_VERSION" ]] ||
      warn "bun $version found; the project is tested with bun $BUN_VERSION (npm install -g bun@$BUN_VERSION)"
    return 0
  fi
  have npm || die "bun is not installed and npm is not available to install it: install Node.js/npm first"
  step "installing bun@$BUN_VERSION (npm install -g)"
  local prefix
  prefix="$(npm prefix -g 2>/dev/null)" || die "npm prefix -g failed"
  local install=(npm install -g --no-fund --no-audit "bun@$BUN_VERSION")
  if [[ "$(id -u)" -eq 0 || -w "$prefix/lib/node_modules" || (! -e "$prefix/lib/node_modules" && -w "$prefix") ]]; then
    "${install[@]}" || die "${install[*]} failed"
  else
    as_root "${install[@]}" || die "${install[*]} failed"
  fi
  hash -r
  if ! have bun && [[ -x "$prefix/bin/bun" ]]; then
    export PATH="$prefix/bin:$PATH"
    warn "npm's global bin folder $prefix/bin is not on PATH; add it to use bun outside these scripts"
  fi
  have bun || die "bun@$BUN_VERSION was installed but 'bun' is still not found on PATH"
}

# The project's JavaScript dependencies, exactly as locked (fast no-op when node_modules is current).
ensure_node_modules() {
  step "bun install --frozen-lockfile"
  (cd "$REPO_ROOT" && bun install --frozen-lockfile) ||
    die "bun install --frozen-lockfile failed (is bun.lock in sync with package.json? run 'bun install' and commit bun.lock)"
}

# Loads ./.env into the environment (variables already set in the shell win, as with bun's own
# .env loading), so the scripts' defaults agree with what the api will read.
load_dotenv() {
  local file="$REPO_ROOT/.env"
  [[ -f "$file" ]] || return 0
  local name saved=()
  # Remember what the shell already has; .env must not override it.
  while IFS= read -r name; do
    if [[ -n "${!name+x}" ]]; then saved+=("$name=${!name}"); fi
  done < <(sed -nE 's/^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=.*/\2/p' "$file")
  step "loading .env"
  set -a
  # shellcheck disable=SC1090
  . "$file"
  set +a
  local pair
  for pair in "${saved[@]}"; do export "${pair%%=*}=${pair#*=}"; done
}

# Answers true when a Redis server answers PING at host:port (bash's /dev/tcp: no client needed).
redis_answers() {
  local host="$1" port="$2" reply=""
  # shellcheck disable=SC2188
  { exec 9<>"/dev/tcp/$host/$port"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&9
  IFS= read -r -t 2 reply <&9 || true
  exec 9>&- 9<&-
  [[ "$reply" == "+PONG"* ]]
}

# Answers true when anything accepts TCP connections at host:port.
port_open() {
  # shellcheck disable=SC2188
  { exec 9<>"/dev/tcp/$1/$2"; } 2>/dev/null || return 1
  exec 9>&- 9<&-
}

# A random URL-safe secret of about $1 bytes of entropy.
random_secret() {
  head -c "${1:-32}" /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'
}

# Go-built tools (k6, the compose parser) live in ./var/tools/bin, never in a global location.
TOOLS_DIR="$REPO_ROOT/var/tools"
# A Go toolchain for building them when the machine has none (or one older than modules need): Go's
# own toolchain module from the Go module proxy, the same archive `GOTOOLCHAIN=auto` would fetch.
GO_BOOTSTRAP_VERSION="1.26.8"

# Prints the path of a `go` that can build current modules (1.21+ switches toolchains by itself).
go_binary() {
  local candidate version
  for candidate in "$(command -v go 2>/dev/null)" /usr/local/go/bin/go "$TOOLS_DIR/go/bin/go"; do
    [[ -n "$candidate" && -x "$candidate" ]] || continue
    version="$("$candidate" env GOVERSION 2>/dev/null)" || continue
    # go1.21 and later; go1.2 itself does not exist in the wild, so a prefix match on "go1.2" is safe.
    if [[ "$version" =~ ^go1\.([0-9]+) && ${BASH_REMATCH[1]} -ge 21 ]]; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}

# Makes sure a usable Go is available, downloading the toolchain module from the proxy when not.
ensure_go() {
  go_binary >/dev/null && return 0
  ensure_packages curl unzip ca-certificates
  local proxy="${GOPROXY:-https://proxy.golang.org}"
  proxy="${proxy%%,*}"
  [[ "$proxy" == "direct" || "$proxy" == "off" ]] && proxy="https://proxy.golang.org"
  local module="v0.0.1-go${GO_BOOTSTRAP_VERSION}.linux-amd64"
  [[ "$(uname -m)" == "aarch64" ]] && module="v0.0.1-go${GO_BOOTSTRAP_VERSION}.linux-arm64"
  step "installing Go $GO_BOOTSTRAP_VERSION into $TOOLS_DIR/go (from $proxy)"
  local archive
  archive="$(mktemp --suffix=.zip)"
  curl -fsSL -o "$archive" "$proxy/golang.org/toolchain/@v/$module.zip" ||
    die "could not download the Go toolchain from $proxy"
  local unpacked
  unpacked="$(mktemp -d)"
  unzip -q "$archive" -d "$unpacked" || die "could not unpack the Go toolchain"
  rm -rf "$TOOLS_DIR/go"
  mkdir -p "$TOOLS_DIR"
  mv "$unpacked/golang.org/toolchain@$module" "$TOOLS_DIR/go"
  # Module zips drop file modes: the tools must be executable.
  chmod -R u+x "$TOOLS_DIR/go/bin" "$TOOLS_DIR/go/pkg/tool"
  rm -rf "$archive" "$unpacked"
  go_binary >/dev/null || die "the downloaded Go toolchain does not run"
}

# tool_is_current <binary> <version>: ./var/tools/bin/<binary> exists and was built from <version> (a
# module version, or a hash of its sources), as record_tool_version <binary> <version> noted after the build.
tool_is_current() {
  [[ -x "$TOOLS_DIR/bin/$1" && "$(cat "$TOOLS_DIR/bin/.$1.version" 2>/dev/null)" == "$2" ]]
}
record_tool_version() { printf '%s\n' "$2" >"$TOOLS_DIR/bin/.$1.version"; }

# ensure_go_tool <binary> <module/path@version>: builds a Go program into ./var/tools/bin once (again
# when the version changes) and prints nothing; the binary is then at "$TOOLS_DIR/bin/<binary>".
ensure_go_tool() {
  local binary="$1" package="$2"
  if tool_is_current "$binary" "$package"; then return 0; fi
  ensure_go
  step "building $binary ($package) into $TOOLS_DIR/bin"
  mkdir -p "$TOOLS_DIR/bin"
  local go
  go="$(go_binary)"
  GOBIN="$TOOLS_DIR/bin" GOTOOLCHAIN=auto GOFLAGS=-mod=mod "$go" install "$package" ||
    die "go install $package failed"
  record_tool_version "$binary" "$package"
}

# The k6 the load tests (load-tests/, `npm run loadtest:smoke`) are written for; built from source by
# ensure_go_tool, so no package repository or prebuilt download is involved.
K6_MODULE="go.k6.io/k6@v1.8.1"
K6_BIN="$TOOLS_DIR/bin/k6"

# Makes sure ./var/tools/bin/k6 exists at K6_MODULE's version (a first build takes a few minutes).
ensure_k6() {
  ensure_go_tool k6 "$K6_MODULE"
  "$K6_BIN" version >/dev/null 2>&1 || die "$K6_BIN does not run"
}

# --- infra/check-ops.sh: tools built from source into ./var/tools/bin --------------------------------
# docker compose itself (the CLI plugin; it also runs standalone, `docker-compose config`): the real
# parser and validator of the compose files, no Docker engine needed. Its go.mod has exclude directives,
# which `go install module@version` refuses, so it is built inside the downloaded module, with its own
# go.sum. Also a CLI plugin under ./var/tools/docker: `DOCKER_CONFIG=var/tools/docker docker compose`.
COMPOSE_MODULE="github.com/docker/compose/v5"
COMPOSE_VERSION="v5.6.0"
COMPOSE_BIN="$TOOLS_DIR/bin/docker-compose"

ensure_compose() {
  if tool_is_current docker-compose "$COMPOSE_MODULE@$COMPOSE_VERSION"; then return 0; fi
  ensure_go
  step "building docker compose $COMPOSE_VERSION into $TOOLS_DIR/bin (the first time takes a few minutes)"
  local go module_dir
  go="$(go_binary)"
  mkdir -p "$TOOLS_DIR/bin" "$TOOLS_DIR/docker/cli-plugins"
  module_dir="$(cd "$TOOLS_DIR" && GOTOOLCHAIN=auto GOFLAGS='' "$go" mod download -json "$COMPOSE_MODULE@$COMPOSE_VERSION" |
    sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')" || true
  [[ -n "$module_dir" && -d "$module_dir" ]] || die "could not download $COMPOSE_MODULE@$COMPOSE_VERSION"
  (cd "$module_dir" && GOTOOLCHAIN=auto GOFLAGS=-mod=readonly CGO_ENABLED=0 "$go" build -trimpath \
    -ldflags "-s -w -X $COMPOSE_MODULE/internal.Version=$COMPOSE_VERSION" -o "$COMPOSE_BIN" ./cmd) ||
    die "building docker compose $COMPOSE_VERSION failed"
  ln -sf ../../bin/docker-compose "$TOOLS_DIR/docker/cli-plugins/docker-compose"
  record_tool_version docker-compose "$COMPOSE_MODULE@$COMPOSE_VERSION"
}

# infra/tools/dockerfile-lint (BuildKit's Dockerfile checks, offline, plus the images' policy), rebuilt
# whenever its sources change.
DOCKERFILE_LINT_BIN="$TOOLS_DIR/bin/dockerfile-lint"

ensure_dockerfile_lint() {
  local source="$REPO_ROOT/infra/tools/dockerfile-lint" sum
  sum="$(cat "$source/go.mod" "$source/go.sum" "$source"/*.go | sha256sum)"
  sum="${sum%% *}"
  if tool_is_current dockerfile-lint "$sum"; then return 0; fi
  ensure_go
  step "building dockerfile-lint into $TOOLS_DIR/bin"
  mkdir -p "$TOOLS_DIR/bin"
  local go
  go="$(go_binary)"
  (cd "$source" && GOTOOLCHAIN=auto GOFLAGS=-mod=readonly CGO_ENABLED=0 "$go" build -trimpath \
    -o "$DOCKERFILE_LINT_BIN" .) || die "building infra/tools/dockerfile-lint failed"
  record_tool_version dockerfile-lint "$sum"
}

# promtool of the Prometheus the compose `monitoring` profile runs (module v0.316.0 is Prometheus 3.16.0,
# the prom/prometheus:v3.16.0 image): checks infra/monitoring/prometheus.yml.
PROMTOOL_MODULE="github.com/prometheus/prometheus/cmd/promtool@v0.316.0"
PROMTOOL_BIN="$TOOLS_DIR/bin/promtool"

ensure_promtool() {
  ensure_go_tool promtool "$PROMTOOL_MODULE"
  "$PROMTOOL_BIN" --version >/dev/null 2>&1 || die "$PROMTOOL_BIN does not run"
}
