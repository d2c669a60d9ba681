#!/usr/bin/env bash
# Installs everything CI needs that npm does not: Debian packages (the registry rig's, via
# hack/registry-deps.sh, plus what hack/cluster uses), a Go toolchain when there is none, and the
# Go-built test binaries (hack/build-k8s-tools.sh: kube-apiserver, kubectl, etcd, helm; cached by
# version under ~/.cache/acr-p2p, 6-10 min cold on 2 cores, nothing to do when cached).
# Usage: bash hack/ci-deps.sh            (needs root, or sudo without a password, for apt)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${ACR_P2P_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/acr-p2p}
log() { echo "[ci-deps $(date +%H:%M:%S)] $*" >&2; }

# Debian packages: docker-registry containerd skopeo iproute2 util-linux (registry rig) ...
bash "$root/hack/registry-deps.sh"
# ... and hack/cluster's: openssl (PKI), curl (readiness), ss (iproute2), setsid/flock (util-linux);
# python3 holds a never-accepting socket for the peer client's connect-timeout test; `npm run images`
# strips the Node binary (binutils); the node tier's containerd wants a CNI network
# (containernetworking-plugins).
need=()
for pair in openssl:/usr/bin/openssl curl:/usr/bin/curl ca-certificates:/etc/ssl/certs/ca-certificates.crt \
  unzip:/usr/bin/unzip python3:/usr/bin/python3 binutils:/usr/bin/strip \
  containernetworking-plugins:/usr/lib/cni/bridge; do
  [ -e "${pair#*:}" ] || need+=("${pair%%:*}")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  log "installing: ${need[*]}"
  $sudo flock /tmp/apt.lock apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# Go: any Go >= 1.21 fetches the toolchain the tool modules ask for (go 1.25) by itself
# (GOTOOLCHAIN=auto, through the configured Go module proxy).
go_ok() { command -v go >/dev/null && go version | grep -qE 'go1\.(2[1-9]|[3-9][0-9])'; }
if ! go_ok; then
  echo "hack/ci-deps.sh: needs Go >= 1.21 on PATH to build kube-apiserver, etcd and helm" \
    "(found: $(command -v go >/dev/null && go version || echo none))" >&2
  exit 1
fi
log "$(go version)"

"$root/hack/build-k8s-tools.sh" > /dev/null
"$root/hack/build-k8s-tools.sh" --env
# The Prometheus Operator's CRDs, for the chart's monitoring objects (from the Go module proxy; cached).
# shellcheck source=/dev/null
source "$root/hack/tools/versions.env"
# (outside any module, from an empty temp dir that is removed after)
scratch=$(mktemp -d)
(cd "$scratch" && GOFLAGS=-mod=mod go mod download "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")
rmdir "$scratch"

# The images (npm run images): fetches the pinned Debian packages of their base layer once and caches
# the base and Node layers by content; the image tests then build offline. Seconds when cached.
# apt-get download needs package lists: refresh them once if the first try finds none.
if ! (cd "$root" && npm run --silent images > /dev/null); then
  log "npm run images failed; refreshing apt lists and retrying"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  $sudo flock /tmp/apt.lock apt-get update -qq
  (cd "$root" && npm run --silent images > /dev/null)
fi
