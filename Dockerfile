# syntax=docker/dockerfile:1
#
# serac container image: a Debian 12 build stage compiles the server, a slim
# Debian 12 runtime stage carries the binary and the shared libraries it links.
#
#   docker build -t serac:0.1.0 .
#   docker run --rm -p 8181:8181 -v serac-data:/var/lib/serac serac:0.1.0
#
# Every setting is a flag, a SERAC_* environment variable or a config-file key
# (`docker run --rm serac:0.1.0 help`). See docs/deployment.md.

# ---------------------------------------------------------------------------
# Build stage
# ---------------------------------------------------------------------------
FROM debian:bookworm AS build

ARG DEBIAN_FRONTEND=noninteractive
# The minimal build list of scripts/install-deps.sh (SERAC_MINIMAL_DEPS=1) without
# libcmocka-dev (the unit tests are not built here), plus the development packages of
# every library CMakeLists.txt may link: zstd (Avro codecs), libpq (PostgreSQL store),
# libcurl and OpenSSL (object storage).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libmicrohttpd-dev libjansson-dev libsqlite3-dev zlib1g-dev \
      libzstd-dev libpq-dev libcurl4-openssl-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# Only what the build reads; .dockerignore keeps the rest of the tree out of the context.
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY src/ src/
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSERAC_TESTS=OFF \
 && cmake --build build -j "$(nproc)" \
 && install -D -m 0755 build/serac /out/serac \
 && /out/serac version

# ---------------------------------------------------------------------------
# Runtime stage
# ---------------------------------------------------------------------------
# Same Debian release as the build stage, so the libraries match the ones linked.
FROM debian:bookworm-slim AS runtime

ARG DEBIAN_FRONTEND=noninteractive
# Runtime libraries only (no compiler, no headers): the ones the binary links, plus libcurl4
# and libssl3 for object storage. curl is here for the HEALTHCHECK below.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libmicrohttpd12 libjansson4 libsqlite3-0 libpq5 zlib1g libzstd1 libcurl4 libssl3 \
      ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*

# A fixed numeric user and group, so Kubernetes' runAsNonRoot can check the image and
# runAsUser/fsGroup in deploy/kubernetes/deployment.yaml match it.
RUN groupadd --gid 10001 serac \
 && useradd --uid 10001 --gid 10001 --no-create-home \
      --home-dir /var/lib/serac --shell /usr/sbin/nologin serac \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/serac

COPY --from=build /out/serac /usr/local/bin/serac

USER 10001:10001
WORKDIR /var/lib/serac

# The embedded default (SQLite catalog and file warehouse) lives in /var/lib/serac: mount a
# volume there to keep it. With --store and --warehouse-location both set (PostgreSQL and a
# shared warehouse) nothing is written there.
ENV SERAC_DATA_DIR=/var/lib/serac \
    SERAC_HOST=0.0.0.0 \
    SERAC_PORT=8181

EXPOSE 8181

# 200 once the store answers, 503 while it does not. Kubernetes ignores this and uses the
# probes in deploy/kubernetes/deployment.yaml instead.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${SERAC_PORT:-8181}/health/ready" || exit 1

# serac drains in-flight requests on SIGTERM (up to --shutdown-grace-ms) and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["serac"]
CMD ["serve", "--host", "0.0.0.0"]
