#!/usr/bin/env bash
# `npm run up`: the whole system on embedded defaults. Installs what is missing, starts a local Redis
# when none is configured or running, keeps a JWT secret, a media token secret and an admin password
# under ./var, prints where everything is, and runs the edge (nginx, on PORT), the api behind it and one
# transcoder until Ctrl-C / SIGTERM, which stops everything it started.
set -euo pipefail
lib="$(dirname "${BASH_SOURCE[0]}")/lib"
# shellcheck source=infra/lib/output.sh
. "$lib/output.sh"
# shellcheck source=infra/lib/dev-env.sh
. "$lib/dev-env.sh"
cd "$REPO_ROOT"

bash infra/setup.sh up
load_dotenv
mkdir -p var

# --- supervision: every long-running process started here is a child stopped on exit -------------
children=() # "pid name" pairs, stopped in reverse order (the api before the Redis it uses)
stopping=0
ticker="" # the main loop's one-second sleep

# Each child runs in its own session, so a Ctrl-C in the terminal reaches only this script, which then
# stops the children in order (setsid execs in place: $! is the child's own pid).
start_child() {
  local name="$1"
  shift
  setsid "$@" &
  children+=("$! $name")
}

stop_children() {
  [[ $stopping -eq 1 ]] && return 0
  stopping=1
  trap - INT TERM
  if [[ -n "$ticker" ]]; then kill "$ticker" 2>/dev/null || true; fi
  local i pid name
  for ((i = ${#children[@]} - 1; i >= 0; i--)); do
    read -r pid name <<<"${children[$i]}"
    kill -0 "$pid" 2>/dev/null || continue
    step "stopping $name (pid $pid)"
    # Give it time to finish in-flight work, then insist.
    if ! terminate_and_wait "$pid"; then
      warn "$name did not stop within 30 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
}
trap stop_children EXIT
# A requested shutdown that went cleanly is a success (exit 0), also under `npm run up`.
trap 'step "signal received: shutting down"; stop_children; step "stopped"; exit 0' INT TERM

# --- Redis -----------------------------------------------------------------------------------------
if [[ -z "${REDIS_URL:-}" ]]; then
  export REDIS_URL="redis://127.0.0.1:6379"
  if redis_answers 127.0.0.1 6379; then
    step "using the Redis server already running on 127.0.0.1:6379"
  elif port_open 127.0.0.1 6379; then
    die "something that is not Redis listens on 127.0.0.1:6379; stop it or set REDIS_URL"
  else
    step "starting redis-server on 127.0.0.1:6379 (data in ./var/redis)"
    mkdir -p var/redis
    # noeviction: BullMQ's queues must never be evicted; appendonly: jobs survive a restart.
    start_child redis-server redis-server --bind 127.0.0.1 --port 6379 --dir "$REPO_ROOT/var/redis" \
      --appendonly yes --maxmemory-policy noeviction --logfile "$REPO_ROOT/var/redis/redis.log"
    for _ in $(seq 1 100); do
      redis_answers 127.0.0.1 6379 && break
      kill -0 "${children[-1]%% *}" 2>/dev/null || die "redis-server exited; see var/redis/redis.log"
      sleep 0.1
    done
    redis_answers 127.0.0.1 6379 || die "redis-server did not answer within 10 s; see var/redis/redis.log"
  fi
else
  step "using REDIS_URL from the environment"
fi

# --- secrets that must survive restarts --------------------------------------------------------------
if [[ -z "${JWT_SECRET:-}" ]]; then
  if [[ ! -s var/jwt-secret ]]; then
    step "generating a JWT secret in ./var/jwt-secret"
    (umask 077 && random_secret 48 >var/jwt-secret)
  fi
  chmod 600 var/jwt-secret
  JWT_SECRET="$(<var/jwt-secret)"
  export JWT_SECRET
fi

# Shared by the api (which mints media tokens) and the edge (which checks them), never JWT_SECRET itself.
if [[ -z "${MEDIA_TOKEN_SECRET:-}" ]]; then
  if [[ ! -s var/media-token-secret ]]; then
    step "generating a media token secret in ./var/media-token-secret"
    (umask 077 && random_secret 48 >var/media-token-secret)
  fi
  chmod 600 var/media-token-secret
  MEDIA_TOKEN_SECRET="$(<var/media-token-secret)"
  export MEDIA_TOKEN_SECRET
fi

export ADMIN_EMAIL="${ADMIN_EMAIL:-admin@videoflix.local}"
admin_password_note="ADMIN_PASSWORD from the environment"
if [[ -z "${ADMIN_PASSWORD:-}" ]]; then
  if [[ ! -s var/admin-password ]]; then
    (umask 077 && random_secret 18 >var/admin-password)
    chmod 600 var/admin-password
    printf '\n'
    printf '  ************************************************************\n'
    printf '  *  admin account: %s\n' "$ADMIN_EMAIL"
    printf '  *  password:      %s\n' "$(<var/admin-password)"
    printf '  *  (shown once; kept in ./var/admin-password)\n'
    printf '  ************************************************************\n\n'
  fi
  chmod 600 var/admin-password
  ADMIN_PASSWORD="$(<var/admin-password)"
  export ADMIN_PASSWORD
  admin_password_note="password in ./var/admin-password (set when the account was first created)"
fi

# --- where things are ------------------------------------------------------------------------------
# The edge answers on PORT (what a browser or player talks to); the api listens behind it on API_PORT.
port="${PORT:-3000}"
api_port="${API_PORT:-$((port + 1))}"
port_open 127.0.0.1 "$port" && die "port $port is taken; set PORT to a free one"
port_open 127.0.0.1 "$api_port" && die "port $api_port (the api, behind the edge) is taken; set API_PORT"
base="${PUBLIC_URL:-http://localhost:$port}"
base="${base%/}"
export PUBLIC_URL="$base"
if [[ -n "${SMTP_URL:-}" ]]; then mails="sent through SMTP_URL"; else mails="written as .eml files to ${MAIL_DIR:-./var/mail} (links also logged)"; fi
if [[ -n "${DATABASE_URL:-}" ]]; then database="PostgreSQL at DATABASE_URL"; else database="embedded PGlite in ${PGLITE_DIR:-./var/pglite}"; fi
step "Videoflix starting"
note "API base:     $base/api/   (the edge, nginx; the api itself on 127.0.0.1:$api_port)"
note "OpenAPI UI:   $base/openapi   (JSON: $base/openapi/json)"
note "health:       $base/health    readiness: $base/ready"
note "mails:        $mails"
note "database:     $database"
note "admin:        $ADMIN_EMAIL, $admin_password_note"
note "uploads:      POST $base/api/admin/videos (admin), queues at $base/admin/queues"
note "transcoder:   one worker (TRANSCODER_HWACCEL=${TRANSCODER_HWACCEL:-none}), media in ${MEDIA_ROOT:-./var/media}"
note "stop with Ctrl-C (or SIGTERM)"

# --- the processes ---------------------------------------------------------------------------------
# The api (it sees the clients' addresses through the edge's X-Forwarded-For), one transcoder worker
# sharing its Redis and ./var/media (more: `bun run transcoder` in another terminal, each one more
# replica of the farm), and the edge in front, which sends token-signed segments itself.
start_child api env PORT="$api_port" HOST=127.0.0.1 TRUST_PROXY=true bun run start
start_child transcoder bun run transcoder
start_child edge env EDGE_PORT="$port" API_UPSTREAM="127.0.0.1:$api_port" bun infra/nginx/edge.ts

# Under `npm run up`, a SIGTERM to npm ends npm and its `sh -c` but never reaches this script: watch
# them and shut down when they are gone, so nothing is left running.
launchers=()
if [[ -n "${npm_lifecycle_event:-}" ]]; then
  launchers=("$PPID")
  # Field 4 of /proc/PID/stat is the parent's pid (the command name in field 2 is `sh`: no spaces).
  grandparent="$(awk '{ print $4 }' "/proc/$PPID/stat" 2>/dev/null || true)"
  [[ -n "$grandparent" && "$grandparent" != 1 ]] && launchers+=("$grandparent")
fi

# Run until a process ends, the launcher goes away, or a signal arrives (the trap); then stop the rest.
alive() { kill -0 "$1" 2>/dev/null; }
while :; do
  for entry in "${children[@]}"; do
    read -r pid name <<<"$entry"
    if ! alive "$pid"; then
      status=0
      wait "$pid" || status=$?
      warn "$name exited (status $status); stopping the others"
      stop_children
      exit "$status"
    fi
  done
  for launcher in "${launchers[@]}"; do
    if ! alive "$launcher"; then
      step "npm is gone: shutting down"
      stop_children
      exit 0
    fi
  done
  # `wait` on a short sleep rather than `sleep` itself, so a signal's trap runs at once.
  sleep 1 &
  ticker=$!
  wait "$ticker" || true
done
