# syntax=docker/dockerfile:1
# A transcoder worker that encodes with NVENC (h264_nvenc, CUDA decode and scaling). Runs with the NVIDIA
# Container Toolkit, which injects the host driver's libcuda / libnvidia-encode / libnvcuvid at start:
#   docker compose -f docker-compose.yml -f docker-compose.gpu.yml up --scale transcoder=N
# Build from the repository root:  docker build -f infra/docker/transcoder-gpu.Dockerfile -t videoflix/transcoder-gpu .
# Same as transcoder.Dockerfile but for the NVIDIA settings; keep the two in step.

# The bun the project is developed and tested with (BUN_VERSION in infra/lib/packages.sh).
ARG BUN_VERSION=1.4.5

FROM oven/bun:${BUN_VERSION}-slim AS deps
WORKDIR /app
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile --production --no-progress

FROM oven/bun:${BUN_VERSION}-slim AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Debian's ffmpeg is built with NVENC, NVDEC/CUVID and the CUDA filters (scale_cuda); it loads the
# driver's libraries at run time, so no CUDA toolkit is needed in the image. util-linux: setpriv.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg util-linux \
    && rm -rf /var/lib/apt/lists/* \
    && command -v setpriv >/dev/null \
    && ffmpeg -hide_banner -encoders | grep h264_nvenc >/dev/null \
    && ffmpeg -hide_banner -filters | grep scale_cuda >/dev/null
# compute: libcuda (CUDA decode and scaling); video: libnvidia-encode + libnvcuvid (NVENC, NVDEC);
# utility: nvidia-smi for operators. The worker self-tests NVENC at start and falls back with a log line
# (to cuda-decode on GPUs without NVENC, such as the H100, or to libx264 without a GPU).
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,video,utility \
    NODE_ENV=production \
    MEDIA_ROOT=/media \
    TRANSCODER_HWACCEL=nvenc \
    TRANSCODER_METRICS_PORT=9464
WORKDIR /app
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
EXPOSE 9464
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --start-interval=2s --retries=3 \
    CMD ["bun", "infra/docker/healthcheck.ts", "/health", "TRANSCODER_METRICS_PORT", "9464"]
CMD ["bun", "transcoder/main.ts"]
