# shellcheck shell=bash
# Go-built tools (k6, docker compose, dockerfile-lint, SeaweedFS) and the Go toolchain that builds them,
# all under ./var/tools. Source infra/lib/output.sh and infra/lib/packages.sh before it (a missing Go
# is fetched with curl and unzip); it only defines functions.

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

# Every tool is built the same way: without cgo, -trimpath, no debug information. The settings are part of
# Go's cache keys, so with one set the standard library and the modules the tools share (gRPC, protobuf,
# golang.org/x, OpenTelemetry, the Prometheus client …) compile once in the build cache for all of them.
# The tools are run, never debugged: the compiler skips DWARF (-dwarf=false: 17 % less CPU on the standard
# library, docs/operations.md) and the linker writes none (-s -w); stack traces need neither.
GO_TOOL_BUILD_FLAGS=(-trimpath "-gcflags=all=-dwarf=false")
GO_TOOL_LDFLAGS="-s -w"

# ensure_go_tool <binary> <module/path@version> [build tags]: builds a Go program into ./var/tools/bin once
# (again when the version or the tags change) and prints nothing; the binary is then at
# "$TOOLS_DIR/bin/<binary>".
ensure_go_tool() {
  local binary="$1" package="$2" tags="${3:-}"
  local wanted="$package${tags:+ tags=$tags}"
  if tool_is_current "$binary" "$wanted"; then return 0; fi
  ensure_go
  step "building $binary ($wanted) into $TOOLS_DIR/bin"
  mkdir -p "$TOOLS_DIR/bin"
  local go
  go="$(go_binary)"
  GOBIN="$TOOLS_DIR/bin" GOTOOLCHAIN=auto GOFLAGS=-mod=mod CGO_ENABLED=0 "$go" install \
    "${GO_TOOL_BUILD_FLAGS[@]}" -ldflags="$GO_TOOL_LDFLAGS" ${tags:+-tags "$tags"} "$package" ||
    die "go install $package failed"
  record_tool_version "$binary" "$wanted"
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
# (Its promtool is Debian's, unpacked from the prometheus package: ensure_promtool in packages.sh.)
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
  (cd "$module_dir" && GOTOOLCHAIN=auto GOFLAGS=-mod=readonly CGO_ENABLED=0 "$go" build "${GO_TOOL_BUILD_FLAGS[@]}" \
    -ldflags "$GO_TOOL_LDFLAGS -X $COMPOSE_MODULE/internal.Version=$COMPOSE_VERSION" -o "$COMPOSE_BIN" ./cmd) ||
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
  (cd "$source" && GOTOOLCHAIN=auto GOFLAGS=-mod=readonly CGO_ENABLED=0 "$go" build \
    "${GO_TOOL_BUILD_FLAGS[@]}" -ldflags="$GO_TOOL_LDFLAGS" -o "$DOCKERFILE_LINT_BIN" .) || die "building infra/tools/dockerfile-lint failed"
  record_tool_version dockerfile-lint "$sum"
}

# --- SeaweedFS: the S3-compatible object store of the tests, `npm run up -- --s3` and compose's s3 profile
# Its go.mod has replace directives, which `go install module@version` refuses, so like docker compose
# it is built inside the downloaded module, with its own go.sum. This commit is SeaweedFS 4.53 (its
# weed/util/version), the chrislusf/seaweedfs:4.53 image of docker-compose.yml.
SEAWEEDFS_MODULE="github.com/seaweedfs/seaweedfs"
SEAWEEDFS_VERSION="v0.0.0-20261109003541-7506e5f91cd6"
WEED_BIN="$TOOLS_DIR/bin/weed"

# Makes sure ./var/tools/bin/weed exists at SEAWEEDFS_VERSION (a first build takes several minutes).
ensure_seaweedfs() {
  if tool_is_current weed "$SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION"; then return 0; fi
  ensure_go
  step "building SeaweedFS (weed, $SEAWEEDFS_VERSION) into $TOOLS_DIR/bin (the first time takes several minutes)"
  local go module_dir
  go="$(go_binary)"
  mkdir -p "$TOOLS_DIR/bin"
  module_dir="$(cd "$TOOLS_DIR" && GOTOOLCHAIN=auto GOFLAGS='' "$go" mod download -json "$SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION" |
    sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')" || true
  [[ -n "$module_dir" && -d "$module_dir" ]] || die "could not download $SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION"
  (cd "$module_dir" && GOTOOLCHAIN=auto GOFLAGS=-mod=readonly CGO_ENABLED=0 "$go" build \
    "${GO_TOOL_BUILD_FLAGS[@]}" -ldflags="$GO_TOOL_LDFLAGS" -o "$WEED_BIN" ./weed) || die "building SeaweedFS $SEAWEEDFS_VERSION failed"
  "$WEED_BIN" version >/dev/null 2>&1 || die "$WEED_BIN does not run"
  record_tool_version weed "$SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION"
}

# --- Building in the background (npm test) ---------------------------------------------------------------
# build_go_tools_in_background <name> <tool>…: infra/build-go-tools.sh <tool>… in a session of its own
# (GO_TOOLS_NICE: its niceness), output to var/tools/logs/<name>.log; await_go_tools <name> waits for it
# and prints its last line, or the end of its log when it failed. Builds still running when the calling
# script exits are stopped, go's own processes included.
declare -A GO_TOOL_BUILDS=()
build_go_tools_in_background() {
  local name="$1"
  shift
  mkdir -p "$TOOLS_DIR/logs"
  setsid nice -n "${GO_TOOLS_NICE:-0}" bash "$REPO_ROOT/infra/build-go-tools.sh" "$@" \
    >"$TOOLS_DIR/logs/$name.log" 2>&1 &
  GO_TOOL_BUILDS[$name]=$!
  trap stop_go_tool_builds EXIT
}
await_go_tools() {
  local name="$1" pid="${GO_TOOL_BUILDS[$1]}" log="$TOOLS_DIR/logs/$1.log"
  unset "GO_TOOL_BUILDS[$name]"
  if wait "$pid"; then
    tail -n 1 "$log"
    return 0
  fi
  tail -n 40 "$log" >&2
  return 1
}
stop_go_tool_builds() {
  local pid
  for pid in "${GO_TOOL_BUILDS[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
}
