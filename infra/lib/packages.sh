# shellcheck shell=bash
# Installing what the project needs when it is missing: root commands, Debian packages, programs unpacked
# from Debian packages that must not be installed, bun and the locked node_modules. Source
# infra/lib/output.sh before it; it only defines functions.

# The bun version the project is developed and tested with; installed from npm when bun is missing.
BUN_VERSION="1.4.5"
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

# --- Programs from Debian packages that must not be installed -------------------------------------------
# Some checks need one program of a package whose installation would start a service: the `prometheus`
# package's postinst enables and starts a Prometheus on :9090. Such a package is fetched with
# `apt-get download` and only the named files are unpacked (dpkg-deb; no maintainer script runs) under
# ./var/tools/debian/<package>, again whenever apt's candidate version changes.
DEBIAN_UNPACKED_DIR="$REPO_ROOT/var/tools/debian"

apt_candidate() { apt-cache policy "$1" 2>/dev/null | sed -nE 's/^ *Candidate: ([^(].*)$/\1/p'; }

# ensure_unpacked_package <package> <path in the package>…: e.g. `ensure_unpacked_package prometheus
# usr/bin/promtool` leaves ./var/tools/debian/prometheus/usr/bin/promtool.
ensure_unpacked_package() {
  local package="$1" dir="$DEBIAN_UNPACKED_DIR/$1"
  shift
  { have apt-get && have dpkg-deb; } || die "$package: this is not a Debian-like system (no apt-get, dpkg-deb)"
  local version current downloads
  version="$(apt_candidate "$package")"
  current="$(cat "$dir/.version" 2>/dev/null || true)"
  # Without apt's lists (images remove them) there is no candidate: what was unpacked before still serves.
  if [[ -n "$current" && ("$version" == "$current" || -z "$version") ]]; then return 0; fi
  downloads="$(mktemp -d)"
  # apt downloads as its _apt user when run as root, which must be able to write there.
  if [[ "$(id -u)" -eq 0 ]] && id _apt >/dev/null 2>&1; then chown _apt "$downloads"; fi
  # Lists that are missing or older than the mirror: one `apt-get update`, then the download again.
  if [[ -z "$version" ]] || ! (cd "$downloads" && apt-get download -qq "$package=$version" 2>/dev/null); then
    as_root apt-get update -qq || { rm -rf "$downloads"; die "apt-get update failed"; }
    version="$(apt_candidate "$package")"
    [[ -n "$version" ]] || { rm -rf "$downloads"; die "apt knows no package '$package'"; }
    (cd "$downloads" && apt-get download -qq "$package=$version") ||
      { rm -rf "$downloads"; die "apt-get download $package=$version failed"; }
  fi
  step "unpacking $* of $package $version into $dir (downloaded, not installed)"
  rm -rf "$dir"
  mkdir -p "$dir"
  dpkg-deb --fsys-tarfile "$downloads"/*.deb | tar -x -C "$dir" "${@/#/./}" ||
    { rm -rf "$downloads" "$dir"; die "unpacking $* from $package $version failed"; }
  printf '%s\n' "$version" >"$dir/.version"
  rm -rf "$downloads"
}

# promtool for infra/check-ops.sh: Debian's (Prometheus 2.42 on bookworm), not the 3.16 the compose
# `monitoring` profile runs: docs/operations.md, "promtool 2.42 for Prometheus 3.16", says what differs.
PROMTOOL_BIN="$DEBIAN_UNPACKED_DIR/prometheus/usr/bin/promtool"

ensure_promtool() {
  ensure_unpacked_package prometheus usr/bin/promtool
  "$PROMTOOL_BIN" --version >/dev/null 2>&1 || die "$PROMTOOL_BIN does not run"
}
