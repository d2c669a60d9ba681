#!/usr/bin/env bash
# End-to-end on kind, for machines with Docker and kind: a Kubernetes 1.34 cluster with a local
# registry, the controller and sidecar images built and pushed (pinned by digest), the chart installed
# with its hooks (certgen runs as the real Job), then the cluster test tier run against it.
#   hack/kind-e2e.sh            (KEEP=1 keeps the cluster and registry afterwards)
# Needs: docker, kind, npm; helm and kubectl from PATH or hack/build-k8s-tools.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cluster=${KIND_CLUSTER:-acr-p2p-e2e}
node_image=${KIND_NODE_IMAGE:-kindest/node:v1.34.0}
reg_name=kind-registry
reg_port=${KIND_REGISTRY_PORT:-5001}
ns=aliyun-acr-acceleration
log() { echo "[kind-e2e $(date +%H:%M:%S)] $*" >&2; }

if tools=$(hack/build-k8s-tools.sh --env 2>/dev/null); then eval "$tools"; fi
HELM=${HELM:-helm}
KUBECTL=${KUBECTL:-kubectl}
for bin in docker kind npm "$HELM" "$KUBECTL"; do
  command -v "$bin" >/dev/null || { log "missing: $bin"; exit 1; }
done

# 1. A local registry the nodes pull from (kind's documented local-registry setup).
if [ "$(docker inspect -f '{{.State.Running}}' "$reg_name" 2>/dev/null || true)" != true ]; then
  docker run -d --restart=always -p "127.0.0.1:$reg_port:5000" --network bridge --name "$reg_name" registry:2
fi

# 2. The cluster, with containerd reading per-registry config from certs.d.
if ! kind get clusters | grep -qx "$cluster"; then
  kind create cluster --name "$cluster" --image "$node_image" --config=- <<KIND
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
containerdConfigPatches:
  - |-
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "/etc/containerd/certs.d"
KIND
fi
for node in $(kind get nodes --name "$cluster"); do
  docker exec "$node" mkdir -p "/etc/containerd/certs.d/localhost:$reg_port"
  printf '[host."http://%s:5000"]\n' "$reg_name" |
    docker exec -i "$node" cp /dev/stdin "/etc/containerd/certs.d/localhost:$reg_port/hosts.toml"
done
docker network connect kind "$reg_name" 2>/dev/null || true
kubeconfig=$(mktemp)
kind get kubeconfig --name "$cluster" > "$kubeconfig"
export KUBECONFIG=$kubeconfig

# 3. Images: built without Docker (npm run images), pushed with skopeo; the digests come from the build.
declare -A digest
pushed=$(npm run --silent images -- --push "localhost:$reg_port/acr-p2p" --push-insecure)
log "$pushed"
for image in controller sidecar; do
  digest[$image]=$(sed -n "s/.*--set $image\.image\.digest=\(sha256:[0-9a-f]*\).*/\1/p" <<< "$pushed")
  [ -n "${digest[$image]}" ] || { echo "no $image digest in npm run images' output" >&2; exit 1; }
done

# 4. The chart with its hooks; test values as the local cluster tier uses (test/support/cluster-chart.ts).
"$HELM" upgrade --install ack-acr-acceleration-p2p manifests/ack-acr-acceleration-p2p \
  -n "$ns" --create-namespace --wait --timeout 5m \
  --set "controller.image.repository=localhost:$reg_port/acr-p2p/controller" \
  --set "controller.image.digest=${digest[controller]}" \
  --set "sidecar.image.repository=localhost:$reg_port/acr-p2p/sidecar" \
  --set "sidecar.image.digest=${digest[sidecar]}" \
  --set "registries[0]=registry.test.local:5000" \
  --set serverless=true
"$KUBECTL" -n "$ns" rollout status deployment/ack-acr-acceleration-p2p --timeout 2m

# 5. The cluster tier against it (tests that need a local controller process skip themselves).
status=0
ACR_P2P_TEST_KUBECONFIG=$kubeconfig npm run test:cluster || status=$?

if [ "${KEEP:-0}" != 1 ]; then
  kind delete cluster --name "$cluster"
  docker rm -f "$reg_name" > /dev/null
fi
rm -f "$kubeconfig"
exit "$status"
