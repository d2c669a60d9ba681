/**
 * The sidecar against a namespace's LimitRanges: every way it could break one (Container max, min and
 * limit/request ratio for cpu and memory; Pod max with the app's limits) is named with its numbers,
 * and a sidecar that fits passes.
 */
import { expect } from "chai";
import type { LimitRangeObject, LimitRangeItem } from "../../../../webhook/kube/kube-api.ts";
import { limitRangeConflict } from "../../../../webhook/mutation/limit-range-fit.ts";
import type { PodSpec } from "../../../../webhook/mutation/pod.ts";

const MiB = 2 ** 20;
/** The defaults: 50m/1 cpu, 64Mi request, 672Mi limit (512Mi cache + 160Mi margin). */
const SIDECAR = {
  cpuRequest: "50m",
  cpuLimit: "1",
  memoryRequestBytes: 64 * MiB,
  memoryLimitBytes: 672 * MiB,
};
const SPEC = {
  containers: [{ name: "app", image: "a", resources: { limits: { cpu: "500m", memory: "1Gi" } } }],
} as PodSpec;

const range = (...limits: LimitRangeItem[]): LimitRangeObject[] => [{ name: "limits", limits }];

describe("LimitRange fit", () => {
  it("a sidecar within every bound fits", () => {
    const ranges = range(
      { type: "Container", max: { cpu: "2", memory: "2Gi" }, min: { cpu: "10m", memory: "16Mi" } },
      { type: "Container", maxLimitRequestRatio: { cpu: "40", memory: "16" } },
      { type: "Pod", max: { cpu: "4", memory: "4Gi" } },
      { type: "PersistentVolumeClaim", max: { storage: "1Gi" } },
    );
    expect(limitRangeConflict(ranges, SIDECAR, SPEC)).to.equal(undefined);
    expect(limitRangeConflict([], SIDECAR, SPEC)).to.equal(undefined);
  });

  const cases: [string, LimitRangeItem, RegExp][] = [
    [
      "container max memory",
      { type: "Container", max: { memory: "512Mi" } },
      /at most memory 512Mi; the sidecar's limit is 672Mi/,
    ],
    [
      "container max cpu",
      { type: "Container", max: { cpu: "500m" } },
      /at most cpu 500m; the sidecar's limit is 1$/,
    ],
    [
      "container min memory",
      { type: "Container", min: { memory: "128Mi" } },
      /at least memory 128Mi; the sidecar requests 64Mi/,
    ],
    [
      "container min cpu",
      { type: "Container", min: { cpu: "100m" } },
      /at least cpu 100m; the sidecar requests 50m/,
    ],
    [
      "memory limit/request ratio",
      { type: "Container", maxLimitRequestRatio: { memory: "4" } },
      /memory limit at most 4x the request; the sidecar's is 672Mi over 64Mi/,
    ],
    [
      "cpu limit/request ratio",
      { type: "Container", maxLimitRequestRatio: { cpu: "10" } },
      /cpu limit at most 10x the request/,
    ],
    [
      "pod max memory, with the app's limits",
      { type: "Pod", max: { memory: "1.5Gi" } },
      /a pod at most memory 1.5Gi; with the sidecar its containers' limits add up to 1696Mi/,
    ],
    [
      "pod max cpu, with the app's limits",
      { type: "Pod", max: { cpu: "1" } },
      /a pod at most cpu 1; with the sidecar its containers' limits add up to 1500m/,
    ],
  ];
  for (const [what, item, message] of cases) {
    it(`names a ${what} the sidecar would break`, () => {
      const conflict = limitRangeConflict(range(item), SIDECAR, SPEC);
      expect(conflict).to.match(/^LimitRange limits /);
      expect(conflict).to.match(message);
    });
  }

  it("counts native sidecars toward a Pod max, not init containers that finish first", () => {
    const spec = {
      containers: [{ name: "app", image: "a", resources: { limits: { memory: "256Mi" } } }],
      initContainers: [
        { name: "setup", image: "s", resources: { limits: { memory: "4Gi" } } },
        { name: "proxy", image: "p", restartPolicy: "Always", resources: { limits: { memory: "256Mi" } } },
      ],
    } as PodSpec;
    expect(limitRangeConflict(range({ type: "Pod", max: { memory: "1184Mi" } }), SIDECAR, spec)).to.equal(
      undefined,
    );
    expect(limitRangeConflict(range({ type: "Pod", max: { memory: "1183Mi" } }), SIDECAR, spec)).to.match(
      /1184Mi/,
    );
  });

  it("reads quantities a manifest wrote as plain numbers", () => {
    const spec = {
      containers: [{ name: "app", image: "a", resources: { limits: { cpu: 2 } } }],
    } as unknown as PodSpec;
    expect(limitRangeConflict(range({ type: "Pod", max: { cpu: "3" } }), SIDECAR, spec)).to.equal(undefined);
    expect(limitRangeConflict(range({ type: "Pod", max: { cpu: "2.5" } }), SIDECAR, spec)).to.match(
      /add up to 3$/,
    );
  });
});
