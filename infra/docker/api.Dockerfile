# syntax=docker/dockerfile:1
# The api (Elysia on Bun). The same image runs the one-shot migrations (`bun api/cli/migrate.ts`).
# Build from the repository root:  docker build -f infra/docker/api.Dockerfile -t videoflix/api .
# Bun runs the TypeScript sources as they are; the one build step is the studio's bundle (Bun.build,
# studio/build.ts), made here once and served by the api at /studio/.

# The bun the project is developed and tested with (BUN_VERSION in infra/lib/packages.sh).
ARG BUN_VERSION=1.4.5

FROM oven/bun:${BUN_VERSION}-slim AS deps
WORKDIR /app
COPY package.json bun.lock ./
# Exactly what bun.lock says, without devDependencies (sharp's prebuilt libvips comes with it).
RUN bun install --frozen-lockfile --production --no-progress

# The studio (the admin web app): React comes with the production dependencies; Bun bundles it.
FROM deps AS studio
COPY tsconfig.json ./
COPY studio ./studio
RUN bun studio/build.ts --out /app/dist/studio

FROM oven/bun:${BUN_VERSION}-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    MEDIA_ROOT=/media \
    MAIL_DIR=/app/var/mail \
    PGLITE_DIR=/app/var/pglite
WORKDIR /app
# Docker seeds an empty named volume with the mount point's owner: /media belongs to the unprivileged
# user, so the api and the transcoders (same uid) can write the shared media volume. /app/var takes
# .eml mails when SMTP_URL is unset.
RUN mkdir -p /media /app/var \
    && chown 1000:1000 /media /app/var
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY config ./config
COPY contract ./contract
COPY connections ./connections
COPY db ./db
COPY emails ./emails
COPY storage ./storage
COPY transcoder ./transcoder
COPY api ./api
COPY --from=studio /app/dist/studio ./dist/studio
COPY infra/docker/healthcheck.ts ./infra/docker/healthcheck.ts
# A numeric user (the image's `bun`), so Kubernetes' runAsNonRoot can verify it; the code stays root's.
USER 1000:1000
EXPOSE 3000
# SIGTERM: the api stops taking requests, finishes what is in flight, flushes watch progress, closes.
STOPSIGNAL SIGTERM
# Liveness (/health): the process answers. Readiness (/ready, PostgreSQL + Redis) is for load
# balancers and orchestrators' readiness probes, not for a check that gets containers replaced.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --start-interval=2s --retries=3 \
    CMD ["bun", "infra/docker/healthcheck.ts", "/health", "PORT", "3000"]
CMD ["bun", "api/main.ts"]
