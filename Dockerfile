# syntax=docker/dockerfile:1
# aliyun-migration-operator image: a glibc release build on Debian bookworm, run from distroless
# cc (glibc + libgcc, no shell, no package manager) as uid 65532.
#
#   docker build -t <registry>/aliyun-migration-operator:0.1.0 \
#     --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) .
#
# The builder's Debian release must match the runtime's (bookworm = debian12), so the binary
# links against the same glibc it runs with.

# Fully qualified names: podman and buildah refuse short names without a registries.conf alias.
# Not yet pinned by digest (this project's build machines reach no container registry). To pin,
# resolve the digest where a registry is reachable and append it, e.g.
#   docker buildx imagetools inspect docker.io/library/rust:1.95-bookworm --format '{{json .Manifest.Digest}}'
#   FROM docker.io/library/rust:1.95-bookworm@sha256:<digest> AS builder
# and refresh it the same way when the tag moves (Renovate's dockerfile manager does this too).
FROM docker.io/library/rust:1.95-bookworm AS builder
WORKDIR /src

# 1. Dependencies only, cached in their own layer until Cargo.toml or Cargo.lock changes:
#    build the real dependency graph against placeholder sources for the crate's own targets
#    (lib src/lib.rs and bin src/main.rs, as Cargo.toml declares them).
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && cargo build --locked --release --no-default-features --bin aliyun-migration-operator \
 && rm -rf src target/release/.fingerprint/aliyun-migration-operator-* \
           target/release/deps/aliyun_migration_operator-* \
           target/release/deps/libaliyun_migration_operator-*

# 2. The crate itself. Removing its fingerprints above makes cargo rebuild it even when the
#    copied sources carry older timestamps than the placeholder build.
#    Release profile (Cargo.toml): optimised for size, fat LTO, one codegen unit, symbols
#    stripped, panics abort.
#    Without the default feature `sim`: the production binary carries neither the simulator
#    (nor its demo AccessKey id, which image secret scanners flag) nor the sandbox.
COPY src ./src
RUN cargo build --locked --release --no-default-features --bin aliyun-migration-operator \
 && ./target/release/aliyun-migration-operator --version

FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="aliyun-migration-operator" \
      org.opencontainers.image.description="Kubernetes operator that runs data migrations into Alibaba Cloud MaxCompute (MMS, DTS) as custom resources" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"
COPY --from=builder /src/target/release/aliyun-migration-operator /aliyun-migration-operator
# The nonroot tag already runs as 65532; stating it keeps runAsNonRoot checks (which need a
# numeric user) satisfied even if the base image changes.
USER 65532:65532
# /metrics, /healthz, /readyz (--metrics-addr).
EXPOSE 8080
ENTRYPOINT ["/aliyun-migration-operator"]
CMD ["run"]
