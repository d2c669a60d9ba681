#!/usr/bin/env bash
# Runs a throwaway origin for hand testing: token server + docker-registry + counting/throttling
# proxy on loopback, with a 3-layer image (team-a/app:v1) and an amd64/arm64 index (team-a/multi:v1)
# pushed. Prints one JSON line (URLs, users, image refs); Ctrl-C stops it and removes its temp dirs.
# Usage: hack/registry-dev.sh [--size-mib 16] [--rate-mbps 0]    (rate 0 = unthrottled)
# Then e.g.: skopeo inspect --tls-verify=false --creds alice:alice-pw docker://<image>
set -euo pipefail
cd "$(dirname "$0")/.."
bash hack/registry-deps.sh >/dev/null
exec npm exec --silent -- node test/support/origin/dev-origin.ts "$@"
