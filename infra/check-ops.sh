#!/usr/bin/env bash
# `npm run check:ops`: checks the container setup without a Docker engine, and every shell script.
#   compose     docker compose itself (built from source into ./var/tools) renders docker-compose.yml alone,
#               with every profile, merged with docker-compose.gpu.yml, and scaled (replicas > 1); without
#               each required secret it must refuse; infra/check-compose.ts then checks what a parser
#               cannot see (transcoders scalable, stop grace above the hand-back grace, healthchecks,
#               restart policies, every setting the api and the transcoder read passed and documented, the
#               s3 profile's SeaweedFS: pinned, its keys those of the api, refusing to start without them, …)
#   Dockerfiles BuildKit's own checks (those of `docker build --check`) and the images' policy
#               (infra/tools/dockerfile-lint); hadolint as well when it is on PATH
#   monitoring  promtool (Debian's, unpacked from the prometheus package, never installed) checks
#               infra/monitoring/prometheus.yml, and must refuse broken copies of it
#   edge        the compose edge's render hook (infra/nginx/render-edge.sh) yields a config nginx -t accepts
#   scripts     shellcheck on every shell script of the repository
# Every check runs; the exit status is non-zero when any failed. Nothing is skipped: a tool that cannot be
# installed or built stops the script with an error.
set -euo pipefail
lib="$(dirname "${BASH_SOURCE[0]}")/lib"
# shellcheck source=infra/lib/output.sh
. "$lib/output.sh"
# shellcheck source=infra/lib/packages.sh
. "$lib/packages.sh"
# shellcheck source=infra/lib/go-tools.sh
. "$lib/go-tools.sh"
cd "$REPO_ROOT"

step "tools"
ensure_bun
ensure_packages shellcheck nginx
ensure_compose
ensure_dockerfile_lint
ensure_promtool
note "$("$COMPOSE_BIN" version), $("$PROMTOOL_BIN" --version | sed -nE '1s/^promtool, version ([^ ]+).*/promtool \1/p'),\
 $(shellcheck --version | sed -n 's/^version: /shellcheck /p')"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT


# --- compose -------------------------------------------------------------------------------------------
# Placeholders for the required secrets, and nothing from this machine: no ./.env (--env-file replaces
# it) and no shell variables (env -i), so the result is the same everywhere.
SECRETS=(POSTGRES_PASSWORD JWT_SECRET MEDIA_TOKEN_SECRET)
# Needed by the s3 profile only, so not required by compose (its seaweedfs refuses to start without them);
# set here so that infra/check-compose.ts can see they reach both the api and SeaweedFS.
PROFILE_SECRETS=(S3_ACCESS_KEY_ID S3_SECRET_ACCESS_KEY)
# placeholder_env [SECRET]: the placeholders, leaving SECRET out.
placeholder_env() {
  local name
  for name in "${SECRETS[@]}" "${PROFILE_SECRETS[@]}"; do
    [[ "$name" == "${1:-}" ]] && continue
    printf '%s=check-ops-placeholder-%s\n' "$name" "${name,,}"
  done
}
placeholder_env >"$work/placeholders.env"

compose() {
  env -i PATH="$PATH" HOME="${HOME:-/root}" "$COMPOSE_BIN" --project-directory "$REPO_ROOT" \
    --env-file "$work/placeholders.env" "$@"
}
ALL_PROFILES=(--profile dev --profile monitoring --profile loadtest --profile s3 --profile tls)
GPU_FILES=(-f docker-compose.yml -f docker-compose.gpu.yml)

compose_renders() {
  # Without the s3 profile's keys too: a stack on the media volume never needs them.
  placeholder_env | grep -v '^S3_' >"$work/placeholders.env"
  compose -f docker-compose.yml "${ALL_PROFILES[@]}" config --quiet || return 1
  placeholder_env >"$work/placeholders.env"
  compose -f docker-compose.yml config --quiet &&
    compose -f docker-compose.yml "${ALL_PROFILES[@]}" config --quiet &&
    compose "${GPU_FILES[@]}" "${ALL_PROFILES[@]}" --profile cpu config --quiet
}

# `up --scale S=N` needs services that can run N times: compose refuses replicas > 1 with a
# container_name (and infra/check-compose.ts refuses host ports on them).
compose_scales() {
  cat >"$work/scale.yml" <<'EOF'
services:
  api: { deploy: { replicas: 3 } }
  transcoder: { deploy: { replicas: 3 } }
EOF
  cat >"$work/scale-cpu.yml" <<'EOF'
services:
  transcoder-cpu: { deploy: { replicas: 3 } }
EOF
  compose -f docker-compose.yml -f "$work/scale.yml" config --quiet &&
    compose "${GPU_FILES[@]}" -f "$work/scale.yml" -f "$work/scale-cpu.yml" --profile cpu config --quiet
}

# No secret may have a working default: without each one, compose must stop and name it.
compose_requires_secrets() {
  local secret output status=0
  for secret in "${SECRETS[@]}"; do
    placeholder_env "$secret" >"$work/placeholders.env"
    if output="$(compose "${GPU_FILES[@]}" config --quiet 2>&1)"; then
      warn "docker compose renders without $secret: it must be required (\${$secret:?…})"
      status=1
    elif [[ "$output" != *"$secret"* ]]; then
      warn "without $secret docker compose fails, but not naming it: $output"
      status=1
    fi
  done
  placeholder_env >"$work/placeholders.env"
  return "$status"
}

compose_semantics() {
  compose "${GPU_FILES[@]}" "${ALL_PROFILES[@]}" --profile cpu config --format json >"$work/merged.json" &&
    bun infra/check-compose.ts "$work/merged.json"
}

check "compose: docker-compose.yml alone, with every profile, and with docker-compose.gpu.yml" compose_renders
check "compose: --scale (replicas > 1 for api, transcoder, transcoder-cpu)" compose_scales
check "compose: required secrets (${SECRETS[*]})" compose_requires_secrets
check "compose: what the parser cannot see (infra/check-compose.ts)" compose_semantics

# --- Dockerfiles -----------------------------------------------------------------------------------------
dockerfiles=(infra/docker/*.Dockerfile)
lint_dockerfiles() {
  "$DOCKERFILE_LINT_BIN" -context "$REPO_ROOT" "${dockerfiles[@]}" || return 1
  if have hadolint; then
    hadolint "${dockerfiles[@]}" || return 1
  else
    note "hadolint is not on PATH (not packaged in Debian): BuildKit's checks and the policy ran"
  fi
}
check "Dockerfiles: ${dockerfiles[*]}" lint_dockerfiles
# What an image runs must be in it: the imports of each `CMD ["bun", …]` against its COPY lines.
check "Dockerfiles: every module their bun commands import is copied (infra/check-image-sources.ts)" \
  bun infra/check-image-sources.ts "${dockerfiles[@]}"

# --- monitoring ------------------------------------------------------------------------------------------
# promtool also opens the files the config names: point the token file at a real one for the check.
check_prometheus() {
  : >"$work/metrics-token"
  sed "s#/etc/prometheus/metrics-token#$work/metrics-token#" infra/monitoring/prometheus.yml >"$work/prometheus.yml"
  "$PROMTOOL_BIN" check config "$work/prometheus.yml" || return 1
  # What Prometheus 3 refuses and Debian's 2.42 accepts (its migration guide): Alertmanager's v1 API.
  if grep -qE '^[^#]*api_version: *"?v1' infra/monitoring/prometheus.yml; then
    warn "prometheus.yml uses Alertmanager's v1 API (api_version: v1), which Prometheus 3 refuses"
    return 1
  fi
  # The check is only worth something if it refuses: a misspelt key, a DNS-SD record type that does not
  # exist, a scrape timeout above the interval, a token file that is not there (each a copy of the real file).
  local broken status=0 output
  for broken in 's/^  scrape_interval:/  scrape_intervall:/' 's/type: A$/type: AA/' \
    's/scrape_timeout: 10s/scrape_timeout: 20s/' "s#$work/metrics-token#$work/missing-token#"; do
    sed "$broken" "$work/prometheus.yml" >"$work/broken.yml"
    if cmp -s "$work/prometheus.yml" "$work/broken.yml"; then
      warn "the mutation '$broken' no longer changes prometheus.yml: update check_prometheus"
      status=1
    elif output="$("$PROMTOOL_BIN" check config "$work/broken.yml" 2>&1)"; then
      warn "promtool accepted prometheus.yml with '$broken'"
      status=1
    elif [[ "$output" != *FAILED* ]]; then
      warn "promtool refused prometheus.yml with '$broken', but not as a failed check: $output"
      status=1
    fi
  done
  return "$status"
}
check "monitoring: infra/monitoring/prometheus.yml (promtool), and four broken copies refused" check_prometheus

# --- the edge --------------------------------------------------------------------------------------------
# What the compose edge runs: infra/nginx/render-edge.sh renders the templates (as the official image's
# entrypoint hook would), then nginx -t parses the result inside an http block like the image's nginx.conf,
# once on plain HTTP and once with TLS (a self-signed certificate made here, then the same as a chain,
# which turns OCSP stapling on). The upstream is two addresses here (two api replicas): nginx -t resolves
# host names, and `api` exists only in compose.
render_edge() {
  env -i PATH="$PATH" EDGE_TEMPLATE_DIR=infra/nginx EDGE_OUT_DIR="$dir/conf.d" EDGE_NO_RELOAD_LOOP=1 \
    MEDIA_TOKEN_SECRET=check-ops-placeholder-media-token-secret API_UPSTREAM=127.0.0.1:3000,127.0.0.1:3001 \
    MEDIA_ROOT="$dir/media" EDGE_ACME_ROOT="$dir/acme" PUBLIC_URL=https://videoflix.example.com/ \
    CORS_ORIGINS=https://app.example.com,http://localhost:5500 EDGE_RESOLVER=127.0.0.1 "$@" \
    sh infra/nginx/render-edge.sh >/dev/null
}
check_edge_render() {
  local dir="$work/edge" nginx
  nginx="$(command -v nginx || echo /usr/sbin/nginx)"
  mkdir -p "$dir/conf.d" "$dir/media" "$dir/acme" "$dir/logs"
  cat >"$dir/nginx.conf" <<EOF
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events {}
http {
  include /etc/nginx/mime.types;
  include $dir/conf.d/*.conf;
}
EOF
  render_edge || return 1
  "$nginx" -t -q -p "$dir" -c "$dir/nginx.conf" || return 1
  if [ "$(grep -c -E '^ *server 127\.0\.0\.1:300[01];$' "$dir/conf.d/default.conf")" -ne 2 ]; then
    warn "render-edge.sh did not give the upstream a server line per API_UPSTREAM address"
    return 1
  fi
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null || return 1
  cat "$dir/cert.pem" "$dir/cert.pem" >"$dir/chain.pem"
  for cert in cert.pem chain.pem; do
    render_edge EDGE_TLS_CERT="$dir/$cert" EDGE_TLS_KEY="$dir/key.pem" EDGE_HTTPS_PORT=8443 || return 1
    "$nginx" -t -q -p "$dir" -c "$dir/nginx.conf" 2>"$dir/logs/tls-$cert.log" || { cat "$dir/logs/tls-$cert.log" >&2; return 1; }
  done
  # Both servers name their access log, so the image's own (its `main` format writes whole request
  # lines: media tokens, direct-upload signatures) logs nothing of theirs.
  if [ "$(cat "$dir/conf.d/default.conf" "$dir/conf.d/tls.conf" | grep -c '^ *access_log /dev/stdout videoflix_json;$')" -ne 2 ]; then
    warn "render-edge.sh did not give each server the access log without tokens"
    return 1
  fi
  if ! grep -q "ssl_stapling on" "$dir/conf.d/tls.conf"; then
    warn "render-edge.sh left OCSP stapling off for a certificate with its chain"
    return 1
  fi
  # The image's nginx (1.27) spells HTTP/2 as a directive of its own: rendered for a stand-in `nginx -v`.
  mkdir -p "$dir/nginx-1.27"
  printf '#!/bin/sh\necho "nginx version: nginx/1.27.5" >&2\n' >"$dir/nginx-1.27/nginx"
  chmod +x "$dir/nginx-1.27/nginx"
  PATH="$dir/nginx-1.27:$PATH" render_edge EDGE_TLS_CERT="$dir/cert.pem" EDGE_TLS_KEY="$dir/key.pem" || return 1
  if ! grep -q "http2 on;" "$dir/conf.d/tls.conf" || grep -q "ssl http2;" "$dir/conf.d/tls.conf"; then
    warn "render-edge.sh did not use the http2 directive for nginx 1.27"
    return 1
  fi
  render_edge EDGE_ACCESS_LOG=0 || return 1
  if ! grep -q '^ *access_log off;$' "$dir/conf.d/default.conf"; then
    warn "render-edge.sh kept the access log with EDGE_ACCESS_LOG=0"
    return 1
  fi
  # A bad secret must stop the container before nginx starts (exit 78), not serve with a weak key.
  if env -i PATH="$PATH" EDGE_TEMPLATE_DIR=infra/nginx EDGE_OUT_DIR="$dir/conf.d" \
    MEDIA_TOKEN_SECRET=short sh infra/nginx/render-edge.sh 2>/dev/null; then
    warn "render-edge.sh accepted a 5-character MEDIA_TOKEN_SECRET"
    return 1
  fi
  # TLS asked for with a certificate that is not there yet: stop, rather than serve plain HTTP unasked.
  if render_edge EDGE_TLS_CERT="$dir/missing.pem" EDGE_TLS_KEY="$dir/key.pem" 2>/dev/null; then
    warn "render-edge.sh started without the certificate EDGE_TLS_CERT names"
    return 1
  fi
}
check "edge: infra/nginx/render-edge.sh renders a config nginx accepts" check_edge_render

# --- shell scripts ---------------------------------------------------------------------------------------
# Tracked and new (not ignored) files that are shell scripts by name or by their #! line.
shell_scripts() {
  local file first
  git ls-files -co --exclude-standard -z | while IFS= read -r -d '' file; do
    [[ -f "$file" ]] || continue
    first=""
    IFS= read -r first <"$file" 2>/dev/null || true
    if [[ "$file" == *.sh || "$first" =~ ^#!.*[/\ ](ba|da|k)?sh([[:space:]]|$) ]]; then
      printf '%s\n' "$file"
    fi
  done
}
run_shellcheck() {
  local scripts=()
  mapfile -t scripts < <(shell_scripts)
  [[ ${#scripts[@]} -gt 0 ]] || {
    warn "no shell scripts found (is this a git checkout?)"
    return 1
  }
  note "${#scripts[@]} scripts: ${scripts[*]}"
  shellcheck -x "${scripts[@]}"
}
check "shellcheck" run_shellcheck

end_checks
step "all ops checks passed"
