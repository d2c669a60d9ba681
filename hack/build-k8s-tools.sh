#!/usr/bin/env bash
# Builds and caches the Go-built binaries the cluster and node tiers need: kube-apiserver, kubectl,
# kubelet, kube-controller-manager and kube-scheduler (k8s.io/kubernetes), a pause binary for the node tier's sandboxes (hack/tools/pause), etcd (go.etcd.io/etcd/server/v3) and helm (helm.sh/helm/v3), from the Go module
# proxy, at the versions in hack/tools/versions.env. Each lands in ~/.cache/acr-p2p/bin/<tool>-<version>/
# and is built only when missing, so a second run does nothing. Cold: 6-10 min on 2 cores.
#
#   hack/build-k8s-tools.sh            build what is missing, then print the env lines below
#   hack/build-k8s-tools.sh --env      print KUBE_APISERVER=... KUBELET=... PAUSE=... ETCD=... KUBECTL=... HELM=... lines;
#                                      exit 3 (printing nothing) if anything is not built yet
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/hack/tools"
# shellcheck source=/dev/null
source "$tools/versions.env"
cache=${ACR_P2P_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/acr-p2p}
k8s_dir="$cache/bin/kubernetes-$K8S_VERSION"
etcd_dir="$cache/bin/etcd-$ETCD_VERSION"
helm_dir="$cache/bin/helm-$HELM_VERSION"
node_dir="$cache/bin/kubernetes-node-$K8S_VERSION"
# The pause binary is ours: keyed by its source's hash.
pause_dir="$cache/bin/pause-$(cat "$tools/pause/main.go" "$tools/pause/go.mod" | sha256sum | cut -c1-12)"

print_env() {
  echo "KUBE_APISERVER=$k8s_dir/kube-apiserver"
  echo "KUBECTL=$k8s_dir/kubectl"
  echo "KUBELET=$node_dir/kubelet"
  echo "KUBE_CONTROLLER_MANAGER=$node_dir/kube-controller-manager"
  echo "KUBE_SCHEDULER=$node_dir/kube-scheduler"
  echo "PAUSE=$pause_dir/pause"
  echo "ETCD=$etcd_dir/etcd"
  echo "HELM=$helm_dir/helm"
}
all_built() {
  [[ -x $k8s_dir/kube-apiserver && -x $k8s_dir/kubectl && -x $etcd_dir/etcd && -x $helm_dir/helm &&
    -x $node_dir/kubelet && -x $node_dir/kube-controller-manager && -x $node_dir/kube-scheduler &&
    -x $pause_dir/pause ]]
}
if [[ ${1:-} == --env ]]; then
  all_built || exit 3
  print_env
  exit 0
fi

log() { echo "[build-k8s-tools $(date +%H:%M:%S)] $*" >&2; }
command -v go >/dev/null || { log "go not found on PATH (needs Go >= 1.25)"; exit 1; }
mkdir -p "$cache/bin"
# One build at a time per machine (CI and a developer's test run may both ask).
exec 9>"$cache/bin/.build.lock"
flock 9

# GOTOOLCHAIN=auto: an older Go (>= 1.21) fetches the go 1.25 toolchain the modules ask for.
export CGO_ENABLED=0 GOTOOLCHAIN=${GOTOOLCHAIN:-auto} GOFLAGS="-mod=readonly -buildvcs=false"
build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# build DIR MODULE_DIR LDFLAGS PKG... : builds into DIR.tmp, then renames, so a killed build leaves
# nothing that looks cached.
build() {
  local out=$1 moddir=$2 ldflags=$3
  shift 3
  local started=$SECONDS
  log "building $* -> $out"
  rm -rf "$out.tmp"
  mkdir -p "$out.tmp"
  (cd "$moddir" && go build -p 2 -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp/" "$@")
  rm -rf "$out"
  mv "$out.tmp" "$out"
  log "built $(cd "$out" && echo *) in $((SECONDS - started)) s"
}

# The variables Kubernetes' hack/lib/version.sh sets, so --version prints the real version.
version_flags() {
  local minor=${K8S_VERSION#v1.} flags="" pkg
  minor=${minor%%.*}
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
  done
  echo "$flags"
}

total=$SECONDS
if [[ -x $helm_dir/helm ]]; then
  log "helm $HELM_VERSION cached"
else
  # Like helm's Makefile: the default Kubernetes version (used by `helm template` and `helm lint` for
  # kubeVersion checks) is that of the client-go helm is built with; without it helm assumes v1.20.
  client_go=$(sed -nE 's#^\s*k8s\.io/client-go v0\.([0-9]+)\..*#\1#p' "$tools/helm/go.mod")
  hv=helm.sh/helm/v3
  build "$helm_dir" "$tools/helm" \
    "-X $hv/internal/version.version=$HELM_VERSION -X $hv/internal/version.gitTreeState=clean
     -X $hv/pkg/chartutil.k8sVersionMajor=1 -X $hv/pkg/chartutil.k8sVersionMinor=$client_go
     -X $hv/pkg/lint/rules.k8sVersionMajor=1 -X $hv/pkg/lint/rules.k8sVersionMinor=$client_go" \
    helm.sh/helm/v3/cmd/helm
fi

if [[ -x $etcd_dir/etcd ]]; then
  log "etcd $ETCD_VERSION cached"
else
  # etcd's version string is a constant of go.etcd.io/etcd/api/v3/version; only the git SHA is a var.
  build "$etcd_dir" "$tools/etcd" "-X go.etcd.io/etcd/api/v3/version.GitSHA=module-$ETCD_VERSION" .
fi

if [[ -x $k8s_dir/kube-apiserver && -x $k8s_dir/kubectl ]]; then
  log "kube-apiserver/kubectl $K8S_VERSION cached"
else
  build "$k8s_dir" "$tools/kubernetes" "$(version_flags)" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
fi
# The node tier's: a kubelet per virtual node, and the controller-manager and scheduler they need.
if [[ -x $node_dir/kubelet && -x $node_dir/kube-controller-manager && -x $node_dir/kube-scheduler ]]; then
  log "kubelet, kube-controller-manager, kube-scheduler $K8S_VERSION cached"
else
  build "$node_dir" "$tools/kubernetes" "$(version_flags)" k8s.io/kubernetes/cmd/kubelet \
    k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
fi
if [[ -x $pause_dir/pause ]]; then
  log "pause cached"
else
  build "$pause_dir" "$tools/pause" "" .
fi
log "all tools ready ($((SECONDS - total)) s)"
print_env
