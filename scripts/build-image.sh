#!/usr/bin/env bash
# Builds routelet's image from the Dockerfile at the repository's root with
# the first container engine that works here: docker, podman or buildah.
#
#   scripts/build-image.sh [IMAGE]     # default ghcr.io/routelet/routelet:0.1.0
#
# Push it where your nodes pull from and set the image in
# manifests/daemonset.yaml (or the chart's image.repository and image.tag).
set -euo pipefail
cd "$(dirname "$0")/.."
image=${1:-ghcr.io/routelet/routelet:0.1.0}

# A docker or podman command is not enough: it needs a daemon (or a usable
# rootless setup) to answer `info`.
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  exec docker build -t "$image" -f Dockerfile .
elif command -v podman >/dev/null 2>&1 && podman info >/dev/null 2>&1; then
  exec podman build -t "$image" -f Dockerfile .
elif command -v buildah >/dev/null 2>&1; then
  exec buildah bud -t "$image" -f Dockerfile .
fi
echo "build-image: no container engine (docker, podman, buildah) on this machine; the Dockerfile is at $PWD/Dockerfile" >&2
for tool in docker podman; do
  if command -v "$tool" >/dev/null 2>&1; then
    echo "build-image: $tool is installed, but \`$tool info\` fails: is its daemon running?" >&2
  fi
done
exit 1
