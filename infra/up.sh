#!/usr/bin/env bash
# `npm run up`: the whole system on embedded defaults. Installs what is missing, keeps a JWT secret, a
# media token secret and an admin password under ./var, then hands over to dev/up.ts, which starts a
# local Redis when none is configured or running, prints where everything is, and runs the edge (nginx,
# on PORT), the api behind it and TRANSCODERS workers (default 1) until Ctrl-C / SIGTERM, which stops
# everything it started. As root, the api, the transcoders and that Redis run as TRANSCODER_USER (default
# videoflix, a system account made here when missing).
#   npm run up -- --s3   (or LOCAL_S3=1): media in a local SeaweedFS (./var/seaweedfs) instead of ./var/media;
#                        its S3 keys are kept under ./var like the other secrets.
#   npm run up -- --tls  (or EDGE_TLS=self-signed): HTTPS at the edge on EDGE_TLS_PORT (3443) with a
#                        self-signed certificate for localhost made once with openssl and kept in
#                        ./var/tls; EDGE_TLS_CERT and EDGE_TLS_KEY name a certificate of your own instead.
set -euo pipefail
lib="$(dirname "${BASH_SOURCE[0]}")/lib"
# shellcheck source=infra/lib/output.sh
. "$lib/output.sh"
# shellcheck source=infra/lib/dev-env.sh
. "$lib/dev-env.sh"
cd "$REPO_ROOT"

up_args=()
for arg in "$@"; do
  case "$arg" in
    --s3) export LOCAL_S3=1 ;;
    --tls) export EDGE_TLS=self-signed ;;
    *) die "usage: npm run up [-- --s3] [-- --tls] (got '$arg')" ;;
  esac
done

# .env first: LOCAL_S3=1 there asks setup.sh for SeaweedFS too.
load_dotenv
bash infra/setup.sh up
mkdir -p var
# As root, the api, the transcoders and the Redis run as this account, never as root (dev/up.ts).
ensure_service_account

# --- secrets that must survive restarts --------------------------------------------------------------
keep_secret JWT_SECRET var/jwt-secret 48 "a JWT secret"
# Shared by the api (which mints media tokens) and the edge (which checks them), never JWT_SECRET itself.
keep_secret MEDIA_TOKEN_SECRET var/media-token-secret 48 "a media token secret"
# /metrics answers only with this bearer token (Prometheus is given it; see docs/operations.md).
keep_secret METRICS_TOKEN var/metrics-token 32 "a metrics token"

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

# The local SeaweedFS's one S3 identity (dev/seaweedfs.ts writes it into its -s3.config).
if [[ "${LOCAL_S3:-}" == "1" ]]; then
  if [[ ! -s var/s3-access-key-id || ! -s var/s3-secret-access-key ]]; then
    step "generating the local SeaweedFS's S3 keys in ./var/s3-access-key-id and ./var/s3-secret-access-key"
    (umask 077 && printf 'VF%s\n' "$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)" >var/s3-access-key-id)
    (umask 077 && random_secret 30 >var/s3-secret-access-key)
  fi
  chmod 600 var/s3-access-key-id var/s3-secret-access-key
  LOCAL_S3_ACCESS_KEY_ID="$(<var/s3-access-key-id)"
  LOCAL_S3_SECRET_ACCESS_KEY="$(<var/s3-secret-access-key)"
  export LOCAL_S3_ACCESS_KEY_ID LOCAL_S3_SECRET_ACCESS_KEY
  up_args+=(--s3)
fi

# HTTPS at the edge: a certificate of one's own (EDGE_TLS_CERT + EDGE_TLS_KEY), or a self-signed one for
# localhost and 127.0.0.1, made once and kept like the secrets above (browsers warn about it; curl takes
# --cacert ./var/tls/edge.crt).
if [[ -n "${EDGE_TLS_CERT:-}${EDGE_TLS_KEY:-}" ]]; then
  [[ -n "${EDGE_TLS_CERT:-}" && -n "${EDGE_TLS_KEY:-}" ]] || die "EDGE_TLS_CERT and EDGE_TLS_KEY go together"
elif [[ "${EDGE_TLS:-}" == "self-signed" ]]; then
  if [[ ! -s var/tls/edge.crt || ! -s var/tls/edge.key ]]; then
    step "generating a self-signed certificate for localhost in ./var/tls (edge.crt, edge.key)"
    mkdir -p var/tls
    (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
      -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
      -keyout var/tls/edge.key -out var/tls/edge.crt 2>/dev/null) || die "openssl could not make the certificate"
  fi
  chmod 600 var/tls/edge.key
  export EDGE_TLS_CERT="$REPO_ROOT/var/tls/edge.crt" EDGE_TLS_KEY="$REPO_ROOT/var/tls/edge.key"
  # HSTS applies to every port of the host: a year of it for localhost would send the browser to https
  # for anything else served on localhost (a frontend on :5500). Set EDGE_HSTS_MAX_AGE to try it.
  export EDGE_HSTS_MAX_AGE="${EDGE_HSTS_MAX_AGE:-0}"
elif [[ -n "${EDGE_TLS:-}" ]]; then
  die "EDGE_TLS must be self-signed (or unset), got '$EDGE_TLS'"
fi

# The studio's bundle (served by the api at /studio/): built when missing, or when its sources changed
# since (build.json keeps their hash); otherwise a one-line "up to date".
bun studio/build.ts --if-stale || die "the studio did not build (bun studio/build.ts)"

# The supervisor (dev/stack.ts) takes over this process: signals reach it directly.
exec bun dev/up.ts "${password_from[@]}" "${up_args[@]}"
