# syntax=docker/dockerfile:1
# RP CRM image: one static Go binary on Alpine, running as a non-root user.
# Build from the repository root:
#   docker build --build-arg VERSION=$(git describe --tags --always) -t rpcrm:prod .
# See docs/operations.md.

# GO_VERSION pins the Go toolchain of the build stage.
ARG GO_VERSION=1.26
# ALPINE_VERSION pins the Alpine release of both stages.
ARG ALPINE_VERSION=3.22

# Front-end packages come from npm when the project has a lockfile; `make
# build` copies the assets into web/static/vendor and compiles.

# build compiles the static binary.
FROM golang:${GO_VERSION}-alpine${ALPINE_VERSION} AS build
RUN apk add --no-cache make git nodejs npm
WORKDIR /src
# Dependencies first, so that a code change does not download them again.
# package*.json may match nothing: go.mod always does, so the COPY is valid either way.
COPY go.mod go.sum package*.json ./
RUN go mod download
RUN if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --ignore-scripts; fi
COPY . .
ARG VERSION=dev
# CGO_ENABLED=0: a static binary that needs no libc in the runtime image.
RUN CGO_ENABLED=0 make build VERSION="${VERSION}" && ./bin/rpcrm version

# --- runtime: CA certificates, time zones, and the PostgreSQL client tools
# `rpcrm backup` / `rpcrm restore` call (pg_dump, pg_restore; the major
# version must be at least the server's: 17 as in the compose files).
FROM alpine:${ALPINE_VERSION}
RUN apk add --no-cache ca-certificates tzdata postgresql17-client \
    && addgroup -S -g 10001 rpcrm \
    && adduser -S -D -H -u 10001 -G rpcrm -h /var/lib/rpcrm rpcrm \
    && mkdir -p /var/lib/rpcrm /backups /etc/rpcrm \
    && chown rpcrm:rpcrm /var/lib/rpcrm /backups
COPY --from=build /src/bin/rpcrm /usr/local/bin/rpcrm
ENV TZ=Europe/Zurich \
    RPCRM_LISTEN=0.0.0.0:8080 \
    RPCRM_DATA_DIR=/var/lib/rpcrm \
    RPCRM_TENANTS_FILE=/etc/rpcrm/tenants.json
VOLUME ["/var/lib/rpcrm"]
EXPOSE 8080
USER 10001:10001
# Liveness only: an unreachable database shows in /readyz and the metrics,
# and restarting the app would not fix it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD wget -q -O /dev/null http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/rpcrm"]
CMD ["serve"]
