#!/usr/bin/env bash
# Installs the real registry and pull clients the test rig runs (test/support/origin, pull-clients):
# Debian's docker-registry (CNCF distribution 2.8), containerd + ctr (1.6) and skopeo (1.9).
# Idempotent and quick when they are present; safe to run next to other apt users (flock).
# Usage: bash hack/registry-deps.sh        (needs root, or sudo without a password)
set -euo pipefail

need=()
for pair in docker-registry:/usr/bin/docker-registry containerd:/usr/bin/containerd \
  containerd:/usr/bin/ctr skopeo:/usr/bin/skopeo iproute2:/usr/sbin/ip util-linux:/usr/bin/setpriv; do
  pkg=${pair%%:*}
  bin=${pair#*:}
  [ -x "$bin" ] || need+=("$pkg")
done

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  # shellcheck disable=SC2207
  need=($(printf '%s\n' "${need[@]}" | sort -u))
  echo "installing: ${need[*]}"
  $sudo flock /tmp/apt.lock apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# The Debian package may start a system registry on :5000 where systemd runs; the rig never uses it.
if command -v systemctl >/dev/null && systemctl is-active --quiet docker-registry 2>/dev/null; then
  echo "note: a system docker-registry service is running on :5000 (unused by the tests)"
fi

echo "docker-registry: $(/usr/bin/docker-registry --version)"
echo "containerd: $(/usr/bin/containerd --version)"
echo "skopeo: $(/usr/bin/skopeo --version)"
