# shellcheck shell=bash
# The local environment of `npm run up` and the load-test stack: ./.env, generated secrets, the
# account a root `npm run up` runs the services as, and stopping a supervised process with grace. Source infra/lib/output.sh before it; it only defines
# functions. (Starting and watching the processes is dev/stack.ts's job.)

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

# A random URL-safe secret of about $1 bytes of entropy.
random_secret() {
  head -c "${1:-32}" /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'
}

# keep_secret <VAR> <file under ./var> <bytes> <what>: unless VAR is set, use the secret kept in the file
# (made with random_secret the first time, mode 600), so it survives restarts; exports VAR either way.
keep_secret() {
  local name="$1" file="$2" bytes="$3" what="$4"
  if [[ -z "${!name:-}" ]]; then
    if [[ ! -s "$file" ]]; then
      step "generating $what in ./$file"
      (umask 077 && random_secret "$bytes" >"$file")
    fi
    chmod 600 "$file"
    printf -v "$name" '%s' "$(<"$file")"
  fi
  export "${name?}"
}

# ensure_service_account: as root, makes sure the account the api and transcoders run as exists
# (TRANSCODER_USER, by default videoflix: a system account with no home and no shell, created here when
# missing); when it cannot be made, says so and falls back to nobody. Another TRANSCODER_USER must exist
# already, and a non-root run switches no account (dev/service-account.ts checks both).
ensure_service_account() {
  [[ "$(id -u)" == 0 && "${TRANSCODER_USER:-videoflix}" == videoflix ]] || return 0
  getent passwd videoflix >/dev/null && return 0
  step "creating the system account videoflix (the api and transcoders run as it)"
  if ! useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
    videoflix; then
    warn "could not create the account videoflix: the api and transcoders run as nobody instead"
    export TRANSCODER_USER=nobody
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
