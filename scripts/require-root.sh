#!/usr/bin/env bash
# The tests and the demo load BPF programs and make network namespaces:
# they need root. Say so plainly instead of failing half-way.
if [ "$(id -u)" -ne 0 ]; then
  echo "$1 needs root (BPF, bpffs, network namespaces). Run: sudo $1" >&2
  exit 1
fi
