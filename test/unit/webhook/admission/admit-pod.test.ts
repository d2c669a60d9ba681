/**
 * admitPod end to end over the in-memory cluster: every skip reason is reachable with its message,
 * the I/O happens in the promised order (nothing read for pods skipped up front, nothing written on
 * dry run), and a re-invocation on an injected pod changes nothing.
 */
import { expect } from "chai";
import { admitPod, type AdmitResult } from "../../../../webhook/admission/admit-pod.ts";
import { KubeApiError } from "../../../../webhook/kube/kube-api.ts";
import { MemoryKubeApi } from "../../../../webhook/kube/memory-kube-api.ts";
import { checkPod } from "../../../../webhook/mutation/pod.ts";
import type { RegistryResolver } from "../../../../webhook/registry/registry-resolver.ts";
import { pod, testConfig, testDeps, type TestDeps } from "../webhook-fixtures.ts";

type Json = Record<string, unknown>;

async function admit(
  object: Json,
  deps: TestDeps = testDeps(),
  namespace = "apps",
  dryRun = false,
): Promise<AdmitResult> {
  return admitPod(checkPod(object), namespace, dryRun, deps);
}

function reason(result: AdmitResult): string {
  return result.injected ? "injected" : result.skip.reason;
}

const SELECTOR = { nodeSelector: { type: "virtual-kubelet" } };
const TOLERATION = { tolerations: [{ key: "virtual-kubelet.io/provider", operator: "Exists" }] };

describe("admitPod", () => {
  it("injects an opted-in pod", async () => {
    const r = await admit(pod());
    expect(reason(r)).to.equal("injected");
  });

  for (const ns of ["kube-system", "aliyun-acr-acceleration"]) {
    it(`never touches ${ns}, and reads nothing to decide so`, async () => {
      const deps = testDeps();
      const r = await admit(pod(), deps, ns);
      expect(reason(r)).to.equal("system-namespace");
      expect(deps.kube.calls.getNamespace + deps.kube.calls.serverVersion).to.equal(0);
    });
  }

  it("opts in by namespace label, and a pod label with another value opts out", async () => {
    const kube = new MemoryKubeApi().addNamespace("apps", { "k8s.aliyun.com/image-accelerate-mode": "p2p" });
    const unlabelled = pod({}, { labels: {} });
    expect(reason(await admit(unlabelled, testDeps(testConfig(), kube)))).to.equal("injected");
    const off = pod({}, { labels: { "k8s.aliyun.com/image-accelerate-mode": "off" } });
    expect(reason(await admit(off, testDeps(testConfig(), kube)))).to.equal("opted-out");
  });

  it("leaves pods alone when neither they nor their namespace opt in", async () => {
    const kube = new MemoryKubeApi().addNamespace("apps", { team: "x" });
    expect(reason(await admit(pod({}, { labels: {} }), testDeps(testConfig(), kube)))).to.equal(
      "not-opted-in",
    );
    expect(reason(await admit(pod({}, { labels: {} }), testDeps()))).to.equal("not-opted-in");
  });

  it("skips a pod relying on its namespace when the namespace cannot be read, not one labelled itself", async () => {
    const deps = testDeps();
    deps.kube.failNext("getNamespace", new KubeApiError("UNAVAILABLE", "connection refused"));
    expect(reason(await admit(pod({}, { labels: {} }), deps))).to.equal("namespace-lookup-failed");
    deps.kube.failNext("getNamespace", new KubeApiError("UNAVAILABLE", "connection refused"));
    expect(reason(await admit(pod(), deps))).to.equal("injected");
  });

  it("skips Windows pods", async () => {
    expect(reason(await admit(pod({ os: { name: "windows" } })))).to.equal("unsupported-os");
  });

  describe("in a mixed cluster (serverless=false)", () => {
    const mixed = () => testDeps(testConfig(["--serverless=false"]));
    const cases: [string, Json, string][] = [
      ["nothing", {}, "not-pinned-to-virtual-nodes"],
      ["selector only", SELECTOR, "not-pinned-to-virtual-nodes"],
      ["toleration only", TOLERATION, "not-pinned-to-virtual-nodes"],
      ["selector + toleration", { ...SELECTOR, ...TOLERATION }, "injected"],
      ["selector + tolerate-everything", { ...SELECTOR, tolerations: [{ operator: "Exists" }] }, "injected"],
      [
        "affinity in every term + toleration",
        {
          ...TOLERATION,
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [
                  { matchExpressions: [{ key: "type", operator: "In", values: ["virtual-kubelet"] }] },
                ],
              },
            },
          },
        },
        "injected",
      ],
      [
        "affinity with an escape term",
        {
          ...TOLERATION,
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [
                  { matchExpressions: [{ key: "type", operator: "In", values: ["virtual-kubelet"] }] },
                  { matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] },
                ],
              },
            },
          },
        },
        "not-pinned-to-virtual-nodes",
      ],
    ];
    it("a pod labelled alibabacloud.com/eci=true, or in a namespace so labelled, is pinned (ACK sends it to ECI)", async () => {
      const eciPod = pod(
        {},
        { labels: { "k8s.aliyun.com/image-accelerate-mode": "p2p", "alibabacloud.com/eci": "true" } },
      );
      expect(reason(await admit(eciPod, mixed()))).to.equal("injected");
      const kube = new MemoryKubeApi().addNamespace("apps", { "alibabacloud.com/eci": "true" });
      const inEciNamespace = () => testDeps(testConfig(["--serverless=false"]), kube);
      expect(reason(await admit(pod(), inEciNamespace()))).to.equal("injected");
      // The pod's own label decides: "false" keeps it off ECI whatever its namespace says.
      const optedOut = pod(
        {},
        { labels: { "k8s.aliyun.com/image-accelerate-mode": "p2p", "alibabacloud.com/eci": "false" } },
      );
      const r = await admit(optedOut, inEciNamespace());
      expect(reason(r)).to.equal("not-pinned-to-virtual-nodes");
      expect(!r.injected && r.skip.message).to.include("or the label alibabacloud.com/eci=true");
    });

    for (const [name, spec, expected] of cases) {
      it(`${name}: ${expected}`, async () => {
        const r = await admit(pod(spec), mixed());
        expect(reason(r)).to.equal(expected);
        if (!r.injected) expect(r.skip.message).to.include("virtual");
      });
    }
  });

  it("needs Kubernetes >= 1.29, read from the API", async () => {
    const old = new MemoryKubeApi({ major: 1, minor: 28, gitVersion: "v1.28.9" });
    const r = await admit(pod(), testDeps(testConfig(), old));
    expect(reason(r)).to.equal("kube-version-too-old");
    expect(!r.injected && r.skip.message).to.include("v1.28.9");
    const ok = new MemoryKubeApi({ major: 1, minor: 29, gitVersion: "v1.29.0" });
    expect(reason(await admit(pod(), testDeps(testConfig(), ok)))).to.equal("injected");
    const broken = testDeps();
    broken.kube.failNext("serverVersion", new KubeApiError("UNAVAILABLE", "down"));
    expect(reason(await admit(pod(), broken))).to.equal("kube-version-unknown");
  });

  const overrides: [Record<string, string>, string][] = [
    [{ "acr-p2p/cache-size": "lots" }, "acr-p2p/cache-size"],
    [{ "acr-p2p/cache-size": "1Ki" }, "acr-p2p/cache-size"],
    [{ "acr-p2p/sidecar-memory-limit": "100Mi" }, "acr-p2p/sidecar-memory-limit"],
    [{ "acr-p2p/cache-size": "2Gi", "acr-p2p/sidecar-memory-limit": "1Gi" }, "acr-p2p/sidecar-memory-limit"],
    [{ "acr-p2p/peer-sharing": "no" }, "acr-p2p/peer-sharing"],
  ];
  for (const [annotations, name] of overrides) {
    it(`refuses ${JSON.stringify(annotations)}, naming ${name}`, async () => {
      const r = await admit(pod({}, { annotations }));
      expect(reason(r)).to.equal("invalid-override");
      expect(!r.injected && r.skip.message).to.include(`annotation ${name}:`);
    });
  }

  it("refuses invalid image references, naming the container", async () => {
    const r = await admit(pod({ containers: [{ name: "web", image: "registry.example.com/Team/App:1" }] }));
    expect(reason(r)).to.equal("invalid-image");
    expect(!r.injected && r.skip.message)
      .to.include('container "web"')
      .and.include("lower case");
    const none = await admit(pod({ containers: [{ name: "web" }] }));
    expect(!none.injected && none.skip.message).to.include("no image");
  });

  it("skips pods without accelerated images, and says so differently while registries resolve", async () => {
    const other = pod({ containers: [{ name: "a", image: "quay.io/x/y:1" }] });
    expect(reason(await admit(other))).to.equal("no-accelerated-images");
    const pending: RegistryResolver = {
      acceleratedHosts: () => new Set(),
      readiness: () => ({ ready: false, detail: "resolving acrInstances" }),
    };
    expect(reason(await admit(other, { ...testDeps(), resolver: pending }))).to.equal(
      "registries-not-resolved",
    );
  });

  const collisions: [Json, string][] = [
    [{ containerPort: 65001 }, "registry front"],
    [{ containerPort: 8080, hostPort: 65003 }, "health"],
    [{ containerPort: 9000, name: "p2p-peer" }, "p2p-peer"],
  ];
  for (const [port, what] of collisions) {
    it(`skips on a port collision (${JSON.stringify(port)})`, async () => {
      const r = await admit(
        pod({ containers: [{ name: "app", image: "registry.example.com/a:1", ports: [port] }] }),
      );
      expect(reason(r)).to.equal("port-collision");
      expect(!r.injected && r.skip.message).to.include(what);
    });
  }

  it("leaves a pod alone when the sidecar would break a LimitRange of its namespace (the API server would reject the pod)", async () => {
    const kube = new MemoryKubeApi().addLimitRange("apps", {
      metadata: { name: "tight" },
      spec: { limits: [{ type: "Container", max: { memory: "256Mi" } }] },
    });
    const r = await admit(pod(), testDeps(testConfig(), kube));
    expect(reason(r)).to.equal("limit-range");
    expect(!r.injected && r.skip.message).to.match(
      /LimitRange tight allows a container at most memory 256Mi/,
    );
    expect(!r.injected && r.warnings).to.have.length(1);
  });

  it("object limits: a pod with 261,900 bytes of annotations is left alone, not pushed past the API server's 256 KiB", async () => {
    const annotations = { big: "x".repeat(261_900 - 3) };
    const r = await admit(pod({}, { annotations }));
    expect(reason(r)).to.equal("object-limits");
    expect(!r.injected && r.skip.message).to.match(
      /annotations take 261900 bytes and the injection's would bring them to \d+, over the API server's limit of 262144 bytes/,
    );
    expect(!r.injected && r.skip.warn).to.equal(true);
  });

  it("object limits: 600 containers with long image names are left alone (the p2p-config annotation would pass 256 KiB)", async () => {
    const containers = Array.from({ length: 600 }, (_, i) => ({
      name: `c${i}`,
      image: `registry.example.com/team/${"a".repeat(180)}-${i}:1`,
    }));
    expect(reason(await admit(pod({ containers })))).to.equal("object-limits");
    // A tenth of them fits: injected as usual.
    expect(reason(await admit(pod({ containers: containers.slice(0, 60) })))).to.equal("injected");
  });

  it("injects without the LimitRange check when the LimitRanges cannot be read", async () => {
    const deps = testDeps();
    deps.kube.addLimitRange("apps", {
      metadata: { name: "tight" },
      spec: { limits: [{ type: "Container", max: { memory: 1 } }] },
    });
    deps.kube.failNext("listLimitRanges", new KubeApiError("FORBIDDEN", "limitranges is forbidden"));
    expect(reason(await admit(pod(), deps))).to.equal("injected");
    expect(reason(await admit(pod(), deps))).to.equal("limit-range");
  });

  it("leaves an image too long to rewrite alone, with a note, and rewrites the rest", async () => {
    const long = `registry.example.com/${"a".repeat(230)}:1`;
    const r = await admit(
      pod({
        containers: [
          { name: "long", image: long },
          { name: "ok", image: "registry.example.com/a:1" },
        ],
      }),
    );
    expect(r.injected).to.equal(true);
    if (!r.injected) return;
    expect(r.plan.images.rewrites.map((x) => x.container)).to.deep.equal(["ok"]);
    expect(r.warnings.join()).to.include('"long" pulls directly');
  });

  it("injects pods with generateName and no name", async () => {
    const r = await admit(pod({}, { name: undefined, generateName: "web-" }));
    expect(reason(r)).to.equal("injected");
  });

  it("changes nothing when called again on the pod it injected (reinvocation)", async () => {
    const deps = testDeps();
    const first = await admit(
      pod({ initContainers: [{ name: "init", image: "registry.example.com/i:1" }] }),
      deps,
    );
    expect(first.injected).to.equal(true);
    if (!first.injected) return;
    const again = await admit(first.pod as Json, deps);
    expect(reason(again)).to.equal("already-injected");
  });

  describe("pull secrets", () => {
    const source = (auths: Json) => ({
      metadata: { name: "creds" },
      type: "kubernetes.io/dockerconfigjson",
      data: { ".dockerconfigjson": Buffer.from(JSON.stringify({ auths })).toString("base64") },
    });
    const withSecret = () =>
      testDeps(
        testConfig(),
        new MemoryKubeApi().addSecret("apps", source({ "registry.example.com": { auth: "dTpw" } })),
      );
    const podWithSecret = () => pod({ imagePullSecrets: [{ name: "creds" }] });

    it("creates the derived secret before answering, and adds it to the pod", async () => {
      const deps = withSecret();
      const r = await admit(podWithSecret(), deps);
      expect(r.injected).to.equal(true);
      if (!r.injected) return;
      const name = r.derivedSecrets[0]?.name as string;
      expect(name).to.match(/^acr-p2p-[0-9a-f]{16}$/);
      const created = deps.kube.secrets.get(`apps/${name}`);
      expect(created?.metadata.labels).to.deep.equal({ "app.kubernetes.io/managed-by": "acr-p2p" });
      const json = JSON.parse(Buffer.from(created?.data?.[".dockerconfigjson"] ?? "", "base64").toString());
      expect(json).to.deep.equal({ auths: { "127.0.0.1:65001/registry.example.com/": { auth: "dTpw" } } });
      expect((r.pod.spec.imagePullSecrets ?? []).map((s) => s.name)).to.deep.equal(["creds", name]);
    });

    it("writes nothing on dry run but answers with the same names", async () => {
      const wet = await admit(podWithSecret(), withSecret());
      const deps = withSecret();
      const dry = await admit(podWithSecret(), deps, "apps", true);
      expect(deps.kube.calls.createSecret).to.equal(0);
      expect(dry.injected && wet.injected && dry.derivedSecrets.map((d) => d.name)).to.deep.equal(
        wet.injected && wet.derivedSecrets.map((d) => d.name),
      );
    });

    it("reuses an existing derived secret (a second pod of the namespace)", async () => {
      const deps = withSecret();
      await admit(podWithSecret(), deps);
      const second = await admit(podWithSecret(), deps);
      expect(second.injected).to.equal(true);
      expect(deps.kube.calls.createSecret).to.equal(1);
    });

    it("never touches a secret of that name without the managed-by label", async () => {
      const deps = withSecret();
      const planned = await admit(
        podWithSecret(),
        testDeps(
          testConfig(),
          new MemoryKubeApi().addSecret("apps", source({ "registry.example.com": { auth: "dTpw" } })),
        ),
        "apps",
        true,
      );
      const name = planned.injected ? (planned.derivedSecrets[0]?.name as string) : "";
      deps.kube.addSecret("apps", { metadata: { name }, type: "Opaque", data: { x: "eA==" } });
      const r = await admit(podWithSecret(), deps);
      expect(reason(r)).to.equal("pull-secret-failed");
      expect(!r.injected && r.skip.message).to.include(
        "without the label app.kubernetes.io/managed-by=acr-p2p",
      );
      expect(deps.kube.secrets.get(`apps/${name}`)?.type).to.equal("Opaque");
    });

    it("skips with a reason when a source secret cannot be read", async () => {
      const deps = withSecret();
      deps.kube.failNext("getSecret", new KubeApiError("FORBIDDEN", "secrets is forbidden"));
      const r = await admit(podWithSecret(), deps);
      expect(reason(r)).to.equal("pull-secret-failed");
      expect(!r.injected && r.skip.message)
        .to.include("creds")
        .and.include("forbidden");
    });
  });
});
