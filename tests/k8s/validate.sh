#!/usr/bin/env bash
# Validates k8s/ (base, overlays/dev, overlays/production), the Grafana
# dashboard k8s/monitoring/dashboard.json and the Dockerfile offline (no
# cluster, no Docker needed): installs the npm packages of tests/k8s/
# (kubernetes-models and @kubernetes-models/prometheus-operator ship the
# OpenAPI schemas compiled to validators, yaml reads the files) when missing,
# then runs validate.mjs, which renders each overlay with `kubectl kustomize`
# and checks what it renders: schema, Kubernetes rules, the design's own and
# production's rules, the dashboard's metric names against the sources
# that declare them, and negative checks on deliberately broken copies.
# kubectl: $KUBECTL, else kubectl on PATH (Debian 12's kubernetes-client,
# kubectl 1.20 with kustomize v2.0.3, from scripts/install-deps.sh test; the
# manifests use nothing newer, and newer kubectl renders them the same).
# Ends with "N passed, M failed"; exits non-zero when a check failed.
#   tests/k8s/validate.sh [K8S_DIR] [--dockerfile PATH] [--kubectl PATH]
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "validate.sh: node and npm are needed (scripts/install-deps.sh installs them)"
  echo "0 passed, 1 failed"
  exit 1
fi
kubectl=${KUBECTL:-kubectl}
if ! command -v "$kubectl" >/dev/null 2>&1; then
  echo "validate.sh: $kubectl is needed to render the overlays (scripts/install-deps.sh test installs kubernetes-client; or set KUBECTL)"
  echo "0 passed, 1 failed"
  exit 1
fi

# npm ci only when node_modules does not match package-lock.json.
stamp=node_modules/.lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  npm_log=$(mktemp)
  if ! npm ci --no-audit --no-fund --silent >"$npm_log" 2>&1; then
    tail -20 "$npm_log"; rm -f "$npm_log"
    echo "validate.sh: npm ci failed"
    echo "0 passed, 1 failed"
    exit 1
  fi
  rm -f "$npm_log"
  echo "$want" >"$stamp"
fi

exec node validate.mjs --kubectl "$kubectl" "$@"
