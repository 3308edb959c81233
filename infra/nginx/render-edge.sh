#!/bin/sh
# Renders the edge's nginx config from edge.conf.template inside the official nginx image: mounted into
# /docker-entrypoint.d/, the image runs it before nginx starts. Only our own ${NAMES} are substituted
# (nginx's $variables stay as they are); the secret ends up in the container's config only.
set -eu

: "${MEDIA_TOKEN_SECRET:?MEDIA_TOKEN_SECRET is required: the same as the api, 32+ letters, digits, - or _}"
case "$MEDIA_TOKEN_SECRET" in
  *[!A-Za-z0-9_-]*) echo "MEDIA_TOKEN_SECRET may only hold letters, digits, - and _" >&2; exit 78 ;;
esac
if [ "${#MEDIA_TOKEN_SECRET}" -lt 32 ]; then echo "MEDIA_TOKEN_SECRET must be 32+ characters" >&2; exit 78; fi

template="${EDGE_TEMPLATE:-/etc/nginx/videoflix/edge.conf.template}"
out_dir="${EDGE_OUT_DIR:-/etc/nginx/conf.d}"
export EDGE_LISTEN="${EDGE_LISTEN:-8080}"
export API_UPSTREAM="${API_UPSTREAM:-api:3000}"
export MEDIA_ROOT="${MEDIA_ROOT:-/media}"
export EDGE_SHARED_MAX_AGE="${EDGE_SHARED_MAX_AGE:-21600}"
export EDGE_CORS_MAP="$out_dir/cors-origins.map"

# One `"<origin>" $http_origin;` line per CORS_ORIGINS entry (the comma-separated list the api reads).
: >"$EDGE_CORS_MAP"
for origin in $(printf '%s' "${CORS_ORIGINS:-}" | tr ',' ' '); do
  case "$origin" in
    http://* | https://*) ;;
    *) echo "CORS_ORIGINS entry '$origin' is not an origin" >&2; exit 78 ;;
  esac
  case "$origin" in *[\"\;\ \$]*) echo "CORS_ORIGINS entry '$origin' has odd characters" >&2; exit 78 ;; esac
  # shellcheck disable=SC2016 # $http_origin is nginx's variable, written as it is
  printf '"%s" $http_origin;\n' "${origin%/}" >>"$EDGE_CORS_MAP"
done

# shellcheck disable=SC2016 # the list names variables for envsubst; it must not expand them
envsubst '${EDGE_LISTEN} ${API_UPSTREAM} ${MEDIA_ROOT} ${MEDIA_TOKEN_SECRET} ${EDGE_SHARED_MAX_AGE} ${EDGE_CORS_MAP}' \
  <"$template" >"$out_dir/default.conf"
echo "videoflix edge: listening on $EDGE_LISTEN, api at $API_UPSTREAM, media at $MEDIA_ROOT"
