//go:build tools

// Package tools pins the helm command hack/build-k8s-tools.sh builds from this module.
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
