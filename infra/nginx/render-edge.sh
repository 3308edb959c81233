#!/bin/sh
# Renders the edge's nginx config from the templates of infra/nginx (edge.conf.template explains the
# parts) inside the official nginx image: mounted into /docker-entrypoint.d/, the image runs it before
# nginx starts. Only our own ${NAMES} are substituted (nginx's $variables stay as they are); the secret
# ends up in the container's config only. infra/nginx/render.ts does the same for the machine's nginx.
#
# HTTPS when EDGE_TLS_CERT and EDGE_TLS_KEY name the certificate (with its chain: Let's Encrypt's
# fullchain.pem) and its key: the HTTPS server listens on EDGE_TLS_LISTEN (8443), the plain one answers
# ACME challenges from EDGE_ACME_ROOT and redirects the rest to https on EDGE_HTTPS_PORT (the public
# port, 443 when unset). nginx then reloads every EDGE_TLS_RELOAD_SECONDS (6 h) to pick up what
# certbot renewed.
set -eu

fail() { echo "videoflix edge: $*" >&2; exit 78; }

: "${MEDIA_TOKEN_SECRET:?MEDIA_TOKEN_SECRET is required: the same as the api, 32+ letters, digits, - or _}"
case "$MEDIA_TOKEN_SECRET" in
  *[!A-Za-z0-9_-]*) fail "MEDIA_TOKEN_SECRET may only hold letters, digits, - and _" ;;
esac
if [ "${#MEDIA_TOKEN_SECRET}" -lt 32 ]; then fail "MEDIA_TOKEN_SECRET must be 32+ characters"; fi

templates="${EDGE_TEMPLATE_DIR:-/etc/nginx/videoflix}"
out_dir="${EDGE_OUT_DIR:-/etc/nginx/conf.d}"
# The parts live in a folder of their own: the image includes every $out_dir/*.conf at the http level.
export EDGE_PARTS="$out_dir/videoflix"
mkdir -p "$EDGE_PARTS"
export EDGE_LISTEN="${EDGE_LISTEN:-8080}"
export API_UPSTREAM="${API_UPSTREAM:-api:3000}"
# One `server` line per comma-separated API_UPSTREAM address (the api replicas, in turn).
EDGE_API_SERVERS=""
for server in $(printf '%s' "$API_UPSTREAM" | tr ',' ' '); do
  case "$server" in
    *[!A-Za-z0-9.:\[\]-]* | :* | *:) fail "API_UPSTREAM entry '$server' is not host:port" ;;
    *:*) ;;
    *) fail "API_UPSTREAM entry '$server' is not host:port" ;;
  esac
  EDGE_API_SERVERS="${EDGE_API_SERVERS:+$EDGE_API_SERVERS
  }server $server;"
done
[ -n "$EDGE_API_SERVERS" ] || fail "API_UPSTREAM names no api address (host:port, comma-separated for several)"
export EDGE_API_SERVERS
export MEDIA_ROOT="${MEDIA_ROOT:-/media}"
export EDGE_SHARED_MAX_AGE="${EDGE_SHARED_MAX_AGE:-21600}"
export EDGE_ACME_ROOT="${EDGE_ACME_ROOT:-/var/www/acme}"
export EDGE_HSTS_MAX_AGE="${EDGE_HSTS_MAX_AGE:-31536000}"
export EDGE_CORS_MAP="$EDGE_PARTS/cors-origins.map"
# The access log as JSON lines on the container's stdout (the nginx image's own log writes whole request
# lines, tokens included: edge.conf.template); EDGE_ACCESS_LOG=0 turns it off.
case "${EDGE_ACCESS_LOG:-1}" in
  1) export EDGE_ACCESS_LOG_TARGET="/dev/stdout videoflix_json" ;;
  0) export EDGE_ACCESS_LOG_TARGET="off" ;;
  *) fail "EDGE_ACCESS_LOG must be 1 or 0, got '$EDGE_ACCESS_LOG'" ;;
esac
case "$EDGE_HSTS_MAX_AGE" in
  '' | *[!0-9]*) fail "EDGE_HSTS_MAX_AGE must be a number of seconds, got '$EDGE_HSTS_MAX_AGE'" ;;
esac

# One `"<origin>" $http_origin;` line per CORS_ORIGINS entry (the comma-separated list the api reads),
# and PUBLIC_URL's origin, which the api always allows.
: >"$EDGE_CORS_MAP"
public_origin=""
if [ -n "${PUBLIC_URL:-}" ]; then public_origin="$(printf '%s' "$PUBLIC_URL" | sed -E 's#^([A-Za-z]+://[^/]+).*#\1#')"; fi
for origin in $public_origin $(printf '%s' "${CORS_ORIGINS:-}" | tr ',' ' '); do
  case "$origin" in
    http://* | https://*) ;;
    *) fail "CORS_ORIGINS entry '$origin' is not an origin" ;;
  esac
  case "$origin" in *[\"\;\ \$]*) fail "CORS_ORIGINS entry '$origin' has odd characters" ;; esac
  # shellcheck disable=SC2016 # $http_origin is nginx's variable, written as it is
  printf '"%s" $http_origin;\n' "${origin%/}" >>"$EDGE_CORS_MAP"
done

tls=""
if [ -n "${EDGE_TLS_CERT:-}" ] || [ -n "${EDGE_TLS_KEY:-}" ]; then
  if [ -z "${EDGE_TLS_CERT:-}" ] || [ -z "${EDGE_TLS_KEY:-}" ]; then fail "EDGE_TLS_CERT and EDGE_TLS_KEY go together"; fi
  for file in "$EDGE_TLS_CERT" "$EDGE_TLS_KEY"; do
    # Before the first certificate there is none: obtain it with the edge on plain HTTP (README, HTTPS).
    [ -r "$file" ] || fail "$file (EDGE_TLS_CERT / EDGE_TLS_KEY) is missing; obtain it first (README: HTTPS)"
  done
  tls=1
fi

if [ -n "$tls" ]; then
  export EDGE_HTTP_SITE="$EDGE_PARTS/redirect.conf"
  https_port="${EDGE_HTTPS_PORT:-443}"
  case "$https_port" in '' | *[!0-9]*) fail "EDGE_HTTPS_PORT must be a port number" ;; esac
  if [ "$https_port" = 443 ]; then export EDGE_HTTPS_PORT_SUFFIX=""; else export EDGE_HTTPS_PORT_SUFFIX=":$https_port"; fi
  tls_listen="${EDGE_TLS_LISTEN:-8443}"
  # HTTP/2 is a `listen` parameter up to nginx 1.25.0 and a directive of its own from 1.25.1 on.
  version="$(nginx -v 2>&1 | sed -nE 's#.*nginx/([0-9]+)\.([0-9]+)\.([0-9]+).*#\1 \2 \3#p')"
  # shellcheck disable=SC2086 # three numbers, split on purpose
  set -- $version
  if [ "${1:-0}" -gt 1 ] || { [ "${1:-0}" -eq 1 ] && { [ "${2:-0}" -gt 25 ] || { [ "${2:-0}" -eq 25 ] && [ "${3:-0}" -ge 1 ]; }; }; }; then
    EDGE_TLS_LISTEN_DIRECTIVES="listen $tls_listen ssl;
  http2 on;"
  else
    EDGE_TLS_LISTEN_DIRECTIVES="listen $tls_listen ssl http2;"
  fi
  export EDGE_TLS_LISTEN_DIRECTIVES
  # OCSP stapling needs the issuer: only when the file holds the chain, not for a lone self-signed one.
  # Docker's own DNS (127.0.0.11) resolves the OCSP responder unless EDGE_RESOLVER says otherwise.
  EDGE_TLS_STAPLING=""
  if [ "$(grep -c -- '-----BEGIN CERTIFICATE-----' "$EDGE_TLS_CERT")" -ge 2 ]; then
    EDGE_TLS_STAPLING="ssl_stapling on;
  ssl_stapling_verify on;
  ssl_trusted_certificate $EDGE_TLS_CERT;
  resolver ${EDGE_RESOLVER:-127.0.0.11} valid=300s;
  resolver_timeout 5s;"
  fi
  export EDGE_TLS_STAPLING
else
  export EDGE_HTTP_SITE="$EDGE_PARTS/routes.conf"
fi

# shellcheck disable=SC2016 # the list names variables for envsubst; it must not expand them
names='${EDGE_PARTS} ${EDGE_LISTEN} ${EDGE_API_SERVERS} ${MEDIA_ROOT} ${MEDIA_TOKEN_SECRET} ${EDGE_SHARED_MAX_AGE} ${EDGE_CORS_MAP} ${EDGE_ACME_ROOT} ${EDGE_HSTS_MAX_AGE} ${EDGE_HTTP_SITE} ${EDGE_HTTPS_PORT_SUFFIX} ${EDGE_TLS_LISTEN_DIRECTIVES} ${EDGE_TLS_CERT} ${EDGE_TLS_KEY} ${EDGE_TLS_STAPLING} ${EDGE_ACCESS_LOG_TARGET}'
cp "$templates/edge-errors.conf" "$EDGE_PARTS/errors.conf"
(umask 077 && envsubst "$names" <"$templates/edge-routes.conf.template" >"$EDGE_PARTS/routes.conf")
envsubst "$names" <"$templates/edge.conf.template" >"$out_dir/default.conf"
if [ -n "$tls" ]; then
  envsubst "$names" <"$templates/edge-redirect.conf.template" >"$EDGE_PARTS/redirect.conf"
  envsubst "$names" <"$templates/edge-tls.conf.template" >"$out_dir/tls.conf"
  echo "videoflix edge: HTTPS on $tls_listen (HTTP/2, HSTS max-age $EDGE_HSTS_MAX_AGE), plain HTTP on $EDGE_LISTEN redirects, api at $API_UPSTREAM"
  if [ -z "${EDGE_NO_RELOAD_LOOP:-}" ]; then
    # Renewed certificates are read on reload; certbot (another container) cannot signal this one.
    (while sleep "${EDGE_TLS_RELOAD_SECONDS:-21600}"; do nginx -s reload; done) >/dev/null 2>&1 &
  fi
else
  rm -f "$out_dir/tls.conf"
  echo "videoflix edge: listening on $EDGE_LISTEN, api at $API_UPSTREAM, media at $MEDIA_ROOT"
fi
