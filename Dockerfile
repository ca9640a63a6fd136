# syntax=docker/dockerfile:1

# The `sixmin` image: one static-ish binary on Debian slim, run as an unprivileged user.
#
#   docker build -t sixmin:0.1.0 .
#   docker run --rm -p 9464:9464 sixmin:0.1.0 demo --listen 0.0.0.0:9464
#   docker run --rm -v $PWD/sixmin.toml:/etc/sixmin/sixmin.toml:ro sixmin:0.1.0 run --config /etc/sixmin/sixmin.toml
#
# Do not set SIXMIN_LISTEN in a container that runs `sixmin run`: every SIXMIN_ variable
# must name a field of the service configuration (use SIXMIN_SERVER_LISTEN there).

# --- build -------------------------------------------------------------------------
# rdkafka compiles librdkafka from the source bundled in rdkafka-sys, with librdkafka's
# own ./configure and make (not cmake), and links it statically. The workspace enables
# only rdkafka's `libz` feature, so the build needs a C toolchain, make, pkg-config and
# zlib's headers, and nothing for TLS, SASL, zstd or curl. Enabling rdkafka's `ssl` or
# `gssapi` features later needs libssl-dev / libsasl2-dev here and libssl3 / libsasl2-2
# in the runtime stage.
FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p sixmin \
 && install -m 0755 target/release/sixmin /usr/local/bin/sixmin

# --- runtime -----------------------------------------------------------------------
FROM debian:12.12-slim
# zlib (librdkafka's compression) is the one shared library beyond glibc; CA
# certificates for HTTPS clients and any future TLS build.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 sixmin \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/sixmin \
      --no-create-home --shell /usr/sbin/nologin sixmin \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/sixmin \
 && install -d -m 0755 /etc/sixmin
COPY --from=build /usr/local/bin/sixmin /usr/local/bin/sixmin
# A directory checkpoint store (`checkpoint.store = "directory"`) belongs on a volume
# here; the Kafka store needs no disk.
WORKDIR /var/lib/sixmin
USER 10001:10001
# /metrics, /healthz, /readyz, /api/status and the status page (`server.listen`).
EXPOSE 9464
ENTRYPOINT ["sixmin"]
CMD ["--help"]
