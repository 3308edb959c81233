# syntax=docker/dockerfile:1
# The tls profile's certbot (docker-compose.yml): renews the edge's Let's Encrypt certificates through the
# webroot the edge answers challenges from. Debian's own certbot package, as unprivileged as the others.
# Build from the repository root:  docker build -f infra/docker/certbot.Dockerfile -t videoflix/certbot .
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends certbot \
    && rm -rf /var/lib/apt/lists/* \
    && certbot --version
# Docker seeds an empty named volume with the mount point's owner: the certificates and the webroot
# belong to the unprivileged user (the edge's nginx master, root, reads the key; its workers the
# challenges, which certbot writes world-readable).
RUN mkdir -p /etc/letsencrypt /var/lib/letsencrypt /var/log/letsencrypt /var/www/acme \
    && chown 1000:1000 /etc/letsencrypt /var/lib/letsencrypt /var/log/letsencrypt /var/www/acme
COPY --chmod=755 infra/docker/certbot-renew.sh /usr/local/bin/certbot-renew
USER 1000:1000
STOPSIGNAL SIGTERM
# Healthy while renewals succeed: the loop marks each `certbot renew` that exits 0.
HEALTHCHECK --interval=5m --timeout=10s --start-period=2m --retries=3 \
    CMD ["certbot-renew", "--healthy"]
CMD ["certbot-renew"]
