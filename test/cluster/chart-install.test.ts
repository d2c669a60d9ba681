/**
 * The chart installed on the real API server (helm, hooks off: nothing runs Jobs here): its objects
 * are accepted, its RBAC is least privilege (checked by the API server's own authorizer through
 * SubjectAccessReview, with acrTempCredentials off and on), its pods pass PodSecurity "restricted",
 * and `helm upgrade` keeps the caBundle certgen wrote.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { parse, stringify } from "yaml";
import {
  AppsV1Api,
  AuthorizationV1Api,
  BatchV1Api,
  CoreV1Api,
  PolicyV1Api,
  type V1Job,
  type V1PodTemplateSpec,
  type V1ResourceAttributes,
} from "@kubernetes/client-node";
import {
  CHART_DIR,
  CHART_NAMESPACE,
  CLEANUP_SA,
  CONTROLLER_SA,
  JOB_SA,
  RELEASE,
  TLS_SECRET,
  WEBHOOK_CONFIG_NAME,
  findObject,
  helm,
  installChart,
  renderChart,
} from "../support/cluster-chart.ts";
import { TEMP_CREDENTIALS_SECRET_NAME } from "../../webhook/pull-secrets/temp-credentials.ts";
import { createTestNamespace, deleteNamespaces, ensureServiceAccount } from "../support/cluster-objects.ts";
import { readCaBundles } from "../support/cluster-tls.ts";
import { chartInstall, type ChartInstall } from "../support/cluster-webhook.ts";
import { waitUntil } from "../support/origin/child-process.ts";

describe("cluster: chart installed on the API server", function () {
  this.timeout(120_000);
  let install: ChartInstall;
  const namespaces: string[] = [];

  before(async function () {
    install = await chartInstall();
  });
  after(() => deleteNamespaces(install.cluster.kubeConfig, namespaces));

  it("is a deployed release with its objects in aliyun-acr-acceleration", async function () {
    const kc = install.cluster.kubeConfig;
    const status = await helm(install.cluster, ["status", RELEASE, "-n", CHART_NAMESPACE, "-o", "json"]);
    expect(JSON.parse(status.stdout).info.status).to.equal("deployed");
    const core = kc.makeApiClient(CoreV1Api);
    for (const sa of [CONTROLLER_SA, JOB_SA]) {
      await core.readNamespacedServiceAccount({ name: sa, namespace: CHART_NAMESPACE });
    }
    const deployment = await kc
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: RELEASE, namespace: CHART_NAMESPACE });
    expect(deployment.spec?.replicas).to.equal(2);
    const c = deployment.spec?.template.spec?.containers[0];
    expect(c?.args).to.deep.equal(["webhook"]);
    expect(c?.readinessProbe?.httpGet?.path).to.equal("/readyz?exclude=servingCertificate");
    expect(c?.livenessProbe?.httpGet?.path).to.equal("/healthz");
    expect(c?.resources?.requests).to.have.keys("cpu", "memory");
    const pdb = await kc
      .makeApiClient(PolicyV1Api)
      .readNamespacedPodDisruptionBudget({ name: RELEASE, namespace: CHART_NAMESPACE });
    expect(pdb.spec?.minAvailable).to.equal(1);
    const service = await core.readNamespacedService({ name: RELEASE, namespace: CHART_NAMESPACE });
    expect(service.spec?.ports?.map((p) => [p.name, p.port])).to.deep.equal([
      ["webhook", 443],
      ["directory", 8444],
      ["metrics", 8445],
    ]);
  });

  it("runs the controller and certgen pods under PodSecurity restricted", async function () {
    const kc = install.cluster.kubeConfig;
    const ns = await createTestNamespace(kc, "pss", { "pod-security.kubernetes.io/enforce": "restricted" });
    namespaces.push(ns);
    for (const sa of [CONTROLLER_SA, JOB_SA, CLEANUP_SA]) await ensureServiceAccount(kc, ns, sa);
    const deployment = await kc
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: RELEASE, namespace: CHART_NAMESPACE });
    const cron = await kc
      .makeApiClient(BatchV1Api)
      .readNamespacedCronJob({ name: `${RELEASE}-certgen`, namespace: CHART_NAMESPACE });
    // The uninstall hook's Job is not installed here (hooks are off): its template as helm renders it.
    const rendered = await renderChart(install.cluster);
    const cleanup = findObject<V1Job>(rendered.objects, "Job", `${RELEASE}-cleanup`);
    const templates: V1PodTemplateSpec[] = [
      deployment.spec!.template,
      cron.spec!.jobTemplate.spec!.template,
      cleanup.spec!.template,
    ];
    for (const template of templates) {
      // A dry-run create runs admission (PodSecurity included) without storing anything.
      await kc.makeApiClient(CoreV1Api).createNamespacedPod({
        namespace: ns,
        dryRun: "All",
        body: { metadata: { generateName: "pss-", labels: template.metadata?.labels }, spec: template.spec! },
      });
    }
  });

  const CONTROLLER_MAY: V1ResourceAttributes[] = [
    { verb: "get", resource: "secrets", namespace: "any-ns" },
    { verb: "create", resource: "secrets", namespace: "any-ns" },
    { verb: "get", resource: "namespaces", name: "any-ns" },
    { verb: "list", resource: "limitranges", namespace: "any-ns" },
    { verb: "list", resource: "pods" },
    { verb: "watch", resource: "pods" },
    { verb: "list", resource: "nodes" },
    { verb: "watch", resource: "nodes" },
    { verb: "create", resource: "tokenreviews", group: "authentication.k8s.io" },
  ];
  const CONTROLLER_MAY_NOT: V1ResourceAttributes[] = [
    { verb: "create", resource: "limitranges", namespace: "any-ns" },
    { verb: "list", resource: "secrets", namespace: "any-ns" },
    { verb: "watch", resource: "secrets", namespace: "any-ns" },
    { verb: "update", resource: "secrets", namespace: "any-ns" },
    { verb: "delete", resource: "secrets", namespace: "any-ns" },
    { verb: "create", resource: "pods", namespace: "any-ns" },
    {
      verb: "patch",
      resource: "mutatingwebhookconfigurations",
      group: "admissionregistration.k8s.io",
      name: WEBHOOK_CONFIG_NAME,
    },
  ];
  const JOB_MAY: V1ResourceAttributes[] = [
    { verb: "create", resource: "secrets", namespace: CHART_NAMESPACE },
    { verb: "get", resource: "secrets", namespace: CHART_NAMESPACE, name: TLS_SECRET },
    { verb: "update", resource: "secrets", namespace: CHART_NAMESPACE, name: TLS_SECRET },
    {
      verb: "get",
      resource: "mutatingwebhookconfigurations",
      group: "admissionregistration.k8s.io",
      name: WEBHOOK_CONFIG_NAME,
    },
    {
      verb: "patch",
      resource: "mutatingwebhookconfigurations",
      group: "admissionregistration.k8s.io",
      name: WEBHOOK_CONFIG_NAME,
    },
  ];
  const JOB_MAY_NOT: V1ResourceAttributes[] = [
    { verb: "get", resource: "secrets", namespace: CHART_NAMESPACE, name: "another-secret" },
    { verb: "list", resource: "secrets", namespace: CHART_NAMESPACE },
    { verb: "create", resource: "secrets", namespace: "other-ns" },
    { verb: "get", resource: "secrets", namespace: "other-ns", name: TLS_SECRET },
    {
      verb: "patch",
      resource: "mutatingwebhookconfigurations",
      group: "admissionregistration.k8s.io",
      name: "someone-else",
    },
    { verb: "list", resource: "mutatingwebhookconfigurations", group: "admissionregistration.k8s.io" },
  ];

  async function allowed(sa: string, attributes: V1ResourceAttributes): Promise<boolean> {
    const api = install.cluster.kubeConfig.makeApiClient(AuthorizationV1Api);
    const review = await api.createSubjectAccessReview({
      body: {
        spec: {
          user: `system:serviceaccount:${CHART_NAMESPACE}:${sa}`,
          groups: [
            "system:serviceaccounts",
            `system:serviceaccounts:${CHART_NAMESPACE}`,
            "system:authenticated",
          ],
          resourceAttributes: attributes,
        },
      },
    });
    return review.status?.allowed === true;
  }
  const describeAttrs = (a: V1ResourceAttributes) =>
    `${a.verb} ${a.resource}${a.name ? `/${a.name}` : ""}${a.namespace ? ` in ${a.namespace}` : ""}`;

  it("gives the controller's ServiceAccount what it needs and no more", async function () {
    for (const a of CONTROLLER_MAY) expect(await allowed(CONTROLLER_SA, a), describeAttrs(a)).to.equal(true);
    for (const a of CONTROLLER_MAY_NOT)
      expect(await allowed(CONTROLLER_SA, a), describeAttrs(a)).to.equal(false);
  });

  it("lets the controller update the temporary credentials secret only, only with acrTempCredentials", async function () {
    // On an external cluster an upgrade would roll the real controller with values it cannot run.
    if (!install.valuesFile) this.skip();
    const update = (name?: string, namespace = "any-ns"): V1ResourceAttributes => ({
      verb: "update",
      resource: "secrets",
      namespace,
      ...(name !== undefined && { name }),
    });
    const mayUpdate = () => allowed(CONTROLLER_SA, update(TEMP_CREDENTIALS_SECRET_NAME));
    expect(await mayUpdate(), "update with acrTempCredentials off").to.equal(false);
    const values = parse(readFileSync(install.valuesFile, "utf8")) as Record<string, unknown>;
    const onFile = join(install.dir, "values-temp-credentials.yaml");
    writeFileSync(onFile, stringify({ ...values, acrInstances: "cri-test", acrTempCredentials: true }));
    try {
      await installChart(install.cluster, onFile);
      // The authorizer sees RBAC changes through its informers: a moment after the write.
      await waitUntil(mayUpdate, 10_000, () => "update of the temporary credentials secret still denied");
      expect(await allowed(CONTROLLER_SA, update(TEMP_CREDENTIALS_SECRET_NAME, "other-ns"))).to.equal(true);
      const denied: V1ResourceAttributes[] = [
        update("another-secret"),
        update(TLS_SECRET, CHART_NAMESPACE),
        update(),
        { verb: "patch", resource: "secrets", namespace: "any-ns", name: TEMP_CREDENTIALS_SECRET_NAME },
        { verb: "delete", resource: "secrets", namespace: "any-ns", name: TEMP_CREDENTIALS_SECRET_NAME },
        { verb: "list", resource: "secrets", namespace: "any-ns" },
        { verb: "watch", resource: "secrets", namespace: "any-ns" },
      ];
      for (const a of denied) expect(await allowed(CONTROLLER_SA, a), describeAttrs(a)).to.equal(false);
    } finally {
      await installChart(install.cluster, install.valuesFile);
    }
    await waitUntil(
      async () => !(await mayUpdate()),
      10_000,
      () => "update still allowed with the value off",
    );
  });

  it("lets the certgen Job touch only its Secret and this webhook configuration", async function () {
    for (const a of JOB_MAY) expect(await allowed(JOB_SA, a), describeAttrs(a)).to.equal(true);
    for (const a of JOB_MAY_NOT) expect(await allowed(JOB_SA, a), describeAttrs(a)).to.equal(false);
  });

  it("keeps the caBundle across helm upgrade", async function () {
    const before = await readCaBundles(install.cluster.kubeConfig);
    expect(before).to.have.length(2);
    for (const pem of before) expect(pem).to.include("BEGIN CERTIFICATE");
    const upgrade = install.valuesFile
      ? await installChart(install.cluster, install.valuesFile)
      : await helm(
          install.cluster,
          ["upgrade", RELEASE, CHART_DIR, "-n", CHART_NAMESPACE, "--reuse-values", "--wait"],
          300_000,
        );
    if (upgrade && upgrade.code !== 0) throw new Error(`helm upgrade failed:\n${upgrade.stderr}`);
    const history = await helm(install.cluster, ["history", RELEASE, "-n", CHART_NAMESPACE, "-o", "json"]);
    expect(JSON.parse(history.stdout).length).to.be.greaterThan(1);
    expect(await readCaBundles(install.cluster.kubeConfig)).to.deep.equal(before);
  });
});
