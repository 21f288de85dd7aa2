#!/usr/bin/env bash
# Installs what routelet needs to build, test and demo, and only what is
# missing (checked with dpkg -s). Quiet when everything is there already.
set -euo pipefail

packages=(
  make pkg-config                       # build
  libbpf-dev libelf-dev zlib1g-dev      # libbpf and what it links
  libcurl4-openssl-dev libyaml-dev      # Kubernetes client, manifests
  libsqlite3-dev                        # the API server's store (GRDB)
  iproute2 iputils-ping python3 bpftool # namespace labs and tests
  python3-kubernetes                    # the official client, in the API server tests
  "$@"                                  # extra packages a caller needs
)

# kubectl: the machine's if there is one, else Debian's.
command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)

missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "routelet needs these Debian packages: ${missing[*]}" >&2
  echo "Install them as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "Installing ${missing[*]} ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Packages such as nginx and haproxy (the HTTP benchmarks' backends and
# proxies) would start their service on the host; nothing installed here is
# meant to run as one.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
