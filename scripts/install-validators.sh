#!/usr/bin/env bash
# Installs what scripts/validate-manifests.py needs, and only what is
# missing. Quiet when everything is there already.
#
# - Debian: Go and the libraries of scripts/helm-render (helm's template
#   functions, sprig, and sigs.k8s.io/yaml), built offline in GOPATH mode;
#   kubectl (for kustomize) comes from scripts/install-deps.sh.
# - PyPI, for the python3 on PATH (the one that runs the validator):
#   kubernetes-validate (Kubernetes OpenAPI schemas), jsonschema, PyYAML,
#   and openapi-spec-validator, which Tests/APIServerTests/OpenAPITests.swift
#   runs on the API server's OpenAPI v3 documents.
set -euo pipefail

# Debian packages through install-deps.sh (only what is missing, quietly).
packages=(golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev)
# pip itself, when the python3 on PATH is Debian's and has none.
python3 -m pip --version >/dev/null 2>&1 || packages+=(python3-pip)
"$(dirname "$0")/install-deps.sh" "${packages[@]}"

# kubernetes-validate is pinned: its newest schema version is one of the
# versions the validator checks against.
python_packages=("kubernetes-validate==1.37.0" "jsonschema>=4.18" "PyYAML>=6" "openapi-spec-validator>=0.7")
if ! python3 - <<'EOF' 2>/dev/null
import importlib.metadata as metadata
assert metadata.version("kubernetes-validate") == "1.37.0"
import jsonschema, yaml, referencing, openapi_spec_validator
EOF
then
  echo "Installing ${python_packages[*]} (pip, for $(command -v python3)) ..."
  # Debian's python3 refuses pip installs outside a venv (PEP 668) unless
  # told otherwise; older pips ignore this variable.
  PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q --disable-pip-version-check \
    --root-user-action=ignore "${python_packages[@]}"
fi
