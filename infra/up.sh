#!/usr/bin/env bash
# `npm run up`: the whole system on embedded defaults. Installs what is missing, keeps a JWT secret, a
# media token secret and an admin password under ./var, then hands over to dev/up.ts, which starts a
# local Redis when none is configured or running, prints where everything is, and runs the edge (nginx,
# on PORT), the api behind it and TRANSCODERS workers (default 1) until Ctrl-C / SIGTERM, which stops
# everything it started.
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
password_from=()
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
  password_from=(--admin-password-file=./var/admin-password)
fi

# The supervisor (dev/stack.ts) takes over this process: signals reach it directly.
exec bun dev/up.ts "${password_from[@]}"
