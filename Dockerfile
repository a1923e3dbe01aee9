# syntax=docker/dockerfile:1
#
# storegate's container image: a release build in one stage, GraphiQL's
# browser bundles fetched through npm in another, and a small Debian runtime
# that runs the binary as an unprivileged user.
#
#   docker build -t storegate .
#   docker run --rm -p 8080:8080 -e JWT_SECRET="$(openssl rand -base64 48)" \
#     -e DATABASE_URL='sqlite:///tmp/storegate.db?mode=rwc' storegate
#
# fly.toml and compose.yaml build this file; tests/deploy_files.rs checks
# that the three agree (port, health path, release command, production mode,
# environment).

# ---- build: the release binary --------------------------------------------
FROM rust:1.95-slim-bookworm AS builder
WORKDIR /src

# Dependencies first, in a layer of their own that is rebuilt only when a
# manifest or the lock file changes: build the workspace with empty stand-in
# crates, then throw the stand-ins away.
COPY Cargo.toml Cargo.lock ./
COPY entity/Cargo.toml entity/Cargo.toml
COPY migration/Cargo.toml migration/Cargo.toml
RUN mkdir -p src entity/src migration/src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs entity/src/lib.rs migration/src/lib.rs \
    && cargo build --release --locked --bin storegate \
    && rm -rf src entity/src migration/src

# Then the sources. COPY keeps the files' own timestamps, which can be older
# than the stand-ins' build, so touch them to make cargo rebuild our crates.
COPY src src
COPY entity/src entity/src
COPY migration/src migration/src
RUN find src entity/src migration/src -name '*.rs' -exec touch {} + \
    && cargo build --release --locked --bin storegate \
    && install -m 0755 target/release/storegate /usr/local/bin/storegate

# ---- assets: GraphiQL's bundles, so /graphql works without a CDN ----------
FROM node:20-bookworm-slim AS graphiql
WORKDIR /src
COPY scripts/fetch-graphiql-assets.sh scripts/fetch-graphiql-assets.sh
RUN bash scripts/fetch-graphiql-assets.sh assets/graphiql

# ---- runtime ----------------------------------------------------------------
FROM debian:bookworm-slim AS runtime
# ca-certificates for TLS to PostgreSQL and Redis; SQLite is compiled in.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 storegate \
    && useradd --system --uid 10001 --gid storegate --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin storegate
WORKDIR /app
COPY --from=builder /usr/local/bin/storegate /usr/local/bin/storegate
COPY --from=graphiql /src/assets/graphiql /app/assets/graphiql

# /app stays owned by root: the server needs no writable files. Set
# DATABASE_URL to PostgreSQL (or to a SQLite file in a writable volume).
ENV STOREGATE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    GRAPHIQL_ASSETS_DIR=/app/assets/graphiql \
    RUST_LOG=info
USER 10001:10001
EXPOSE 8080

# No HEALTHCHECK: the slim image has no HTTP client; Fly.io checks /healthz
# itself (fly.toml), as would a Kubernetes probe, and compose.yaml asks it
# with bash's /dev/tcp.
#
# A CMD and no ENTRYPOINT, so that any command given to the image replaces it
# whole: `docker run IMAGE storegate migrate up`, and fly.toml's
# release_command "storegate migrate up" (Fly.io keeps the image's
# ENTRYPOINT and replaces only CMD, so an ENTRYPOINT of storegate would run
# `storegate storegate migrate up`).
CMD ["storegate", "serve"]
