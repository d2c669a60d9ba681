/**
 * The Prometheus Operator's CRDs from its Go module (hack/ci-deps.sh downloads it at the version in
 * hack/tools/versions.env): real schemas for the chart's ServiceMonitor, PodMonitor and PrometheusRule.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./cluster.ts";

export function monitoringCrdFiles(): string[] {
  const env = readFileSync(join(REPO_ROOT, "hack/tools/versions.env"), "utf8");
  const version = /^PROMETHEUS_OPERATOR_VERSION=(\S+)$/m.exec(env)?.[1];
  if (!version) throw new Error("hack/tools/versions.env has no PROMETHEUS_OPERATOR_VERSION");
  const cache = spawnSync("go", ["env", "GOMODCACHE"], { encoding: "utf8" }).stdout.trim();
  const dir = join(
    cache,
    `github.com/prometheus-operator/prometheus-operator@${version}`,
    "example/prometheus-operator-crd",
  );
  const files = ["servicemonitors", "podmonitors", "prometheusrules"].map((k) =>
    join(dir, `monitoring.coreos.com_${k}.yaml`),
  );
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0)
    throw new Error(`${missing.join(", ")} missing: run hack/ci-deps.sh (it downloads the module)`);
  return files;
}
