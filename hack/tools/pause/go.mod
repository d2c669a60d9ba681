// The node tier's sandbox process (hack/build-k8s-tools.sh builds it). No dependencies.
module acr-p2p/hack/tools/pause

go 1.25.0
