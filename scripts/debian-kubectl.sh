#!/usr/bin/env bash
# Unpacks Debian's kubectl (kubernetes-client, an older release than most
# machines' kubectl) into .build/kubectl-debian, so the API server tests
# run a second kubectl version without replacing the machine's.
set -euo pipefail
target=.build/kubectl-debian
[ -x "$target/usr/bin/kubectl" ] && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! (cd "$work" && apt-get download -qq kubernetes-client >/dev/null 2>&1); then
  apt-get update -qq && (cd "$work" && apt-get download -qq kubernetes-client >/dev/null)
fi
mkdir -p "$target"
dpkg -x "$work"/kubernetes-client_*.deb "$target"
echo "Debian's kubectl unpacked in $target: $("$target/usr/bin/kubectl" version --client 2>/dev/null | head -1)"
