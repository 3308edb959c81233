# syntax=docker/dockerfile:1
# A transcoder worker of the farm (CPU: libx264). Scale with replicas: docker compose up --scale transcoder=N.
# Build from the repository root:  docker build -f infra/docker/transcoder.Dockerfile -t videoflix/transcoder .
# The GPU variant is transcoder-gpu.Dockerfile; keep the two in step.

# The bun the project is developed and tested with (BUN_VERSION in infra/lib/packages.sh).
ARG BUN_VERSION=1.4.5

FROM oven/bun:${BUN_VERSION}-slim AS deps
WORKDIR /app
COPY package.json bun.lock ./
# Exactly what bun.lock says, without devDependencies. sharp brings its own prebuilt libvips (glibc),
# so the runtime image needs no image libraries of its own.
RUN bun install --frozen-lockfile --production --no-progress

FROM oven/bun:${BUN_VERSION}-slim AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Debian's ffmpeg/ffprobe (libx264; h264_nvenc and the CUDA hwaccel too, used by the GPU image), and
# util-linux for setpriv, which ties every FFmpeg child to its worker (PR_SET_PDEATHSIG).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg util-linux \
    && rm -rf /var/lib/apt/lists/* \
    && command -v setpriv >/dev/null \
    && ffmpeg -hide_banner -encoders | grep libx264 >/dev/null
ENV NODE_ENV=production \
    MEDIA_ROOT=/media \
    TRANSCODER_HWACCEL=none \
    TRANSCODER_METRICS_PORT=9464
WORKDIR /app
# Docker seeds an empty named volume with the mount point's owner: /media belongs to the unprivileged
# user, the same uid as the api's, which shares the volume.
RUN mkdir -p /media \
    && chown 1000:1000 /media
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY config ./config
COPY contract ./contract
COPY connections ./connections
COPY storage ./storage
COPY transcoder ./transcoder
COPY infra/docker/healthcheck.ts ./infra/docker/healthcheck.ts
USER 1000:1000
# GET /metrics (Prometheus) and GET /health (200 while taking jobs, 503 once shutting down).
EXPOSE 9464
# SIGTERM: no new jobs; the running one gets TRANSCODER_SHUTDOWN_GRACE_SECONDS, then FFmpeg is stopped
# and the job handed back to the queue. Give the container a longer stop timeout than that grace.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --start-interval=2s --retries=3 \
    CMD ["bun", "infra/docker/healthcheck.ts", "/health", "TRANSCODER_METRICS_PORT", "9464"]
CMD ["bun", "transcoder/main.ts"]
