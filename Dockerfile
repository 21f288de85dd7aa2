# routelet's image: the `routelet` binary (the BPF programs and the CRDs are
# embedded in it) on Debian 12 with the shared libraries it links.
#
#   scripts/build-image.sh            # docker, podman or buildah
#   docker build -t routelet:dev .    # the same by hand
#
# The DaemonSet (manifests/daemonset.yaml) runs `routelet agent`.

# --- Build: the Swift toolchain on Debian 12 (the version the tests run with) --
FROM swift:6.3-bookworm AS build

# The C libraries routelet links (their -dev packages, found by pkg-config),
# and make + base64 for bpf/Makefile. The BPF objects are compiled by the
# toolchain's own clang (Plugins/EmbedPlugin runs bpf/Makefile), so there is
# no separate clang to install.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      make coreutils pkg-config \
      libbpf-dev libelf-dev zlib1g-dev \
      libcurl4-openssl-dev libyaml-dev libsqlite3-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# Dependencies first, so that a source change does not fetch them again.
# Package.resolved is optional (it is not in git): the [d] glob lets COPY
# succeed without it.
COPY Package.swift Package.resolve[d] ./
RUN swift package resolve

COPY . .
# The Swift runtime linked in statically: the runtime image needs no Swift.
RUN swift build -c release --product routelet --static-swift-stdlib \
 && install -D -m 0755 "$(swift build -c release --show-bin-path)/routelet" /out/routelet

# --- Runtime: Debian 12, the shared libraries, the binary ---------------------
FROM debian:bookworm-slim

# libbpf (data plane), libelf and zlib (libbpf's), libcurl (Kubernetes API
# client), libyaml (manifests), libsqlite3 (the embedded API server's store,
# for `routelet standalone`), CA certificates (TLS to API servers whose CA
# is not in the kubeconfig or the service account).
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libbpf1 libelf1 zlib1g libcurl4 libyaml-0-2 libsqlite3-0 ca-certificates \
 && rm -rf /var/lib/apt/lists/*

COPY --from=build /out/routelet /usr/local/bin/routelet

# Root on purpose: Kubernetes hands added capabilities (BPF, NET_ADMIN,
# PERFMON) only to root processes, as there are no ambient capabilities for
# containers, and the pins under /sys/fs/bpf/routelet are root's (mode 0700).
# The DaemonSet still drops every other capability, is not privileged, and
# mounts the root filesystem read-only.
USER root
ENTRYPOINT ["routelet"]
CMD ["--help"]
