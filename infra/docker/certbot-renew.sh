#!/bin/sh
# The certbot container's loop (infra/docker/certbot.Dockerfile): `certbot renew` every
# CERTBOT_RENEW_INTERVAL_SECONDS (12 h), which renews what expires within 30 days through the webroot
# the certificate was obtained with (/var/www/acme, answered by the edge). The edge reloads nginx every
# 6 h and so picks the new files up; certbot cannot signal another container.
#   certbot-renew            the loop
#   certbot-renew --healthy  the HEALTHCHECK: exit 0 when a renewal ran fine within two intervals
set -eu

interval="${CERTBOT_RENEW_INTERVAL_SECONDS:-43200}"
case "$interval" in '' | *[!0-9]*) echo "CERTBOT_RENEW_INTERVAL_SECONDS must be seconds" >&2; exit 78 ;; esac
mark=/var/lib/letsencrypt/videoflix-renewed

if [ "${1:-}" = "--healthy" ]; then
  [ -f "$mark" ] || exit 1
  age=$(($(date +%s) - $(date -r "$mark" +%s)))
  [ "$age" -le $((2 * interval + 600)) ]
  exit
fi

trap 'exit 0' TERM INT
while :; do
  # No certificate yet is fine (nothing to renew); a failed renewal leaves the mark old: unhealthy.
  if certbot renew --non-interactive --webroot -w /var/www/acme; then touch "$mark"; fi
  sleep "$interval" &
  wait $! || true
done
