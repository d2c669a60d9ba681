/**
 * One pod's admission, in the order style.md asks for: the cluster reads first (namespace labels,
 * server version, accelerated hosts), then the pure decision, then the side effects (derived pull
 * secrets, and the ACR temporary credentials secret for a pod without pull secrets, exist before the
 * answer; not on dry run), then the pure patch.
 */
import type { Logger } from "../../lib/logger.ts";
import type { MutationConfig } from "../config/webhook-config.ts";
import type { ClusterFacts } from "../kube/cluster-facts.ts";
import type { KubeApi } from "../kube/kube-api.ts";
import { computePatch } from "../mutation/compute-patch.ts";
import { decide, precheck, type InjectionPlan } from "../mutation/decide.ts";
import { objectLimitBroken } from "../mutation/object-limits.ts";
import type { PatchOperation } from "../mutation/pod-editor.ts";
import type { Pod } from "../mutation/pod.ts";
import { skip, type Skip } from "../mutation/skip.ts";
import type { RecentSkipEvents } from "./skip-event.ts";
import { planDerivedSecrets, type DerivedSecret } from "../pull-secrets/derived-secrets.ts";
import { ensureDerivedSecrets, PullSecretError, readSourceSecrets } from "../pull-secrets/ensure-secrets.ts";
import {
  ensureTempPullSecret,
  wantsTempPullSecret,
  type TempPullSecrets,
  type TempSecretOutcome,
} from "../pull-secrets/temp-pull-secret.ts";
import type { RegistryResolver } from "../registry/registry-resolver.ts";

/**
 * How long an admission waits for the temporary credentials secret (a first GetAuthorizationToken,
 * then a secret write): the chart gives the whole admission 5 s, the cluster reads before this take
 * up to 1.5 s.
 */
export const TEMP_PULL_SECRET_WAIT_MS = 2500;

export interface AdmissionDeps {
  readonly config: MutationConfig;
  readonly kube: KubeApi;
  readonly facts: ClusterFacts;
  readonly resolver: RegistryResolver;
  readonly logger: Logger;
  /** ACR temporary credentials (opt-in); undefined when off. */
  readonly tempPullSecrets?: TempPullSecrets;
  /** The directory's CA bundle now (it follows certificate rotation); undefined: the configured one. */
  readonly directoryCA?: () => string | undefined;
  /** Default TEMP_PULL_SECRET_WAIT_MS. */
  readonly tempPullSecretWaitMs?: number;
  /** Skip Events this process wrote lately (admission/skip-event.ts); without it every skip tries. */
  readonly recentSkipEvents?: RecentSkipEvents;
}

export type AdmitResult =
  | {
      readonly injected: true;
      readonly patch: readonly PatchOperation[];
      readonly pod: Pod;
      readonly plan: InjectionPlan;
      readonly derivedSecrets: readonly DerivedSecret[];
      /** What happened with the temporary credentials secret; undefined when the pod did not need it. */
      readonly tempPullSecret: TempSecretOutcome | undefined;
      readonly warnings: readonly string[];
    }
  | {
      readonly injected: false;
      readonly skip: Skip;
      /** Notes besides the skip itself (the skip's message is the caller's to show). */
      readonly warnings: readonly string[];
    };

export async function admitPod(
  pod: Pod,
  namespace: string,
  dryRun: boolean,
  deps: AdmissionDeps,
): Promise<AdmitResult> {
  const early = precheck(pod, namespace, deps.config);
  if (early) return { injected: false, skip: early, warnings: [] };

  const [namespaceFacts, serverVersion] = await Promise.all([
    deps.facts.namespace(namespace).then(
      (ns) => ns,
      (err: unknown) => {
        deps.logger.warn({ err, namespace }, "namespace lookup failed");
        return undefined;
      },
    ),
    deps.facts.serverVersion().catch((err: unknown) => {
      deps.logger.warn({ err }, "server version lookup failed");
      return undefined;
    }),
  ]);
  if (namespaceFacts && namespaceFacts.limitRanges === undefined) {
    deps.logger.warn(
      { err: namespaceFacts.limitRangeError, namespace },
      "LimitRange lookup failed: the sidecar is not checked against them",
    );
  }
  const decision = decide(pod, deps.config, {
    namespace,
    namespaceLabels: namespaceFacts?.labels,
    limitRanges: namespaceFacts?.limitRanges,
    serverVersion,
    acceleratedHosts: deps.resolver.acceleratedHosts(),
    resolverReady: deps.resolver.readiness().ready,
  });
  if (!decision.inject)
    return {
      injected: false,
      skip: decision.skip,
      warnings: decision.skip.warn ? [decision.skip.message] : [],
    };
  const { plan } = decision;

  let derived: DerivedSecret[];
  const warnings = [...plan.images.notes];
  try {
    const read = await readSourceSecrets(deps.kube, namespace, pod);
    warnings.push(...read.notes);
    derived = planDerivedSecrets(read.sources, plan.images.hosts, deps.config.sidecar.port);
    await ensureDerivedSecrets(deps.kube, namespace, derived, dryRun);
  } catch (err) {
    if (!(err instanceof PullSecretError)) throw err;
    return { injected: false, skip: skip("pull-secret-failed", err.message), warnings };
  }

  const pullSecrets = derived.map((d) => d.name);
  const temp = deps.tempPullSecrets;
  let tempPullSecret: TempSecretOutcome | undefined;
  if (temp && wantsTempPullSecret(pod, plan.images.hosts, temp.coveredHosts())) {
    // A dry run names the secret without writing it (its name is fixed), as a real admission would.
    tempPullSecret = dryRun
      ? { kind: "added", name: temp.secretName }
      : await ensureTempPullSecret(temp, namespace, deps.tempPullSecretWaitMs ?? TEMP_PULL_SECRET_WAIT_MS);
    if (tempPullSecret.kind === "unavailable") {
      warnings.push(
        `ACR temporary credentials not added (${tempPullSecret.reason}): images are pulled without credentials`,
      );
    } else {
      pullSecrets.push(tempPullSecret.name);
    }
  }

  const result = computePatch(pod, deps.config, {
    plan,
    pullSecrets,
    directoryCA: deps.directoryCA?.(),
  });
  // Checked on the patched pod (what the API server will validate), so after the pull secrets: a
  // secret written for a pod left alone is the cost of not rejecting a valid pod.
  const broken = objectLimitBroken(pod, result.pod);
  if (broken) return { injected: false, skip: skip("object-limits", broken), warnings };
  return {
    injected: true,
    patch: result.patch,
    pod: result.pod,
    plan,
    derivedSecrets: derived,
    tempPullSecret,
    warnings,
  };
}
