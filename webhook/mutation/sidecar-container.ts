/**
 * The injected sidecar: a native sidecar (an init container with restartPolicy Always, placed first)
 * whose startupProbe holds back the app containers, and so their image pulls, until its registry
 * front answers. It passes PodSecurity "restricted" on its own, and its env is its whole config,
 * rendered from the sidecar's option table so `kubectl describe pod` shows what it runs with.
 */
import { basename, dirname } from "node:path";
import { DIRECTORY_TOKEN_AUDIENCE } from "../../contract/peer-group.ts";
import { SIDECAR_OPTIONS, sidecarOption, type SidecarOptionSpec } from "../../contract/sidecar-options.ts";
import type { MutationConfig } from "../config/webhook-config.ts";
import type { InjectionPlan } from "./decide.ts";
import {
  CACHE_MOUNT_PATH,
  CACHE_VOLUME_NAME,
  DIRECTORY_TOKEN_VOLUME_NAME,
  HEALTH_PORT_NAME,
  PEER_PORT_NAME,
  SIDECAR_CONTAINER_NAME,
} from "./names.ts";
import { formatBytes } from "../config/quantity.ts";

export type EnvVar =
  | { readonly name: string; readonly value: string }
  | { readonly name: string; readonly valueFrom: { readonly fieldRef: { readonly fieldPath: string } } };

/**
 * Non-root, as PodSecurity "restricted" asks: the sidecar image's own user (`nonroot`, 65532, from
 * hack/images/debian-base.ts; a unit test keeps them equal), stated so the kubelet can check
 * runAsNonRoot without trusting the image.
 */
export const SIDECAR_UID = 65532;

/** The kubelet refreshes the projected token at 80% of this; the sidecar reads it afresh for each directory call. */
const DIRECTORY_TOKEN_SECONDS = 3600;

/**
 * `directoryCA`: the CA bundle the controller serves the directory with now (it changes on rotation,
 * so it is an input of each admission rather than configuration read once at start); without it the
 * configured ACR_P2P_DIRECTORY_CA, if any, is copied.
 */
export function sidecarEnv(
  config: MutationConfig,
  plan: InjectionPlan,
  directoryCA?: string,
  table: readonly SidecarOptionSpec[] = SIDECAR_OPTIONS,
): EnvVar[] {
  const s = config.sidecar;
  // The values of the perPod and overridable options: what the copied text does not say for this pod.
  const perPod: Record<string, string> = {
    ...(directoryCA !== undefined && s.copied["directoryURL"] !== undefined && { directoryCA }),
    ...(s.cacheMode === "disk" && { cacheDir: CACHE_MOUNT_PATH }),
    upstreamHosts: plan.images.hosts.join(","),
    plainHttpHosts: s.plainHttpHosts.filter((h) => plan.images.hosts.includes(h)).join(","),
    group: plan.group,
    peerSharing: String(plan.sizing.peerSharing),
    optionBlockSizeBytes: String(plan.sizing.cacheBytes),
  };
  const env: EnvVar[] = [];
  for (const spec of table) {
    // The cap is rendered in bytes, as optionBlockSize.
    if (spec.scope === "sidecarOnly" || spec.key === "memoryCacheCapacityGB") continue;
    if (spec.downward !== undefined) {
      env.push({ name: spec.env, valueFrom: { fieldRef: { fieldPath: spec.downward } } });
      continue;
    }
    const value = perPod[spec.key] ?? s.copied[spec.key];
    if (value !== undefined && value !== "") env.push({ name: spec.env, value });
  }
  return env;
}

export interface SidecarParts {
  readonly container: Record<string, unknown>;
  /** Pod volumes the sidecar needs (none in memory mode). */
  readonly volumes: readonly Record<string, unknown>[];
}

export function renderSidecar(
  config: MutationConfig,
  plan: InjectionPlan,
  directoryCA?: string,
): SidecarParts {
  const s = config.sidecar;
  const { volumes, mounts } = sidecarVolumes(config);
  const container: Record<string, unknown> = {
    name: SIDECAR_CONTAINER_NAME,
    image: config.sidecarImage,
    imagePullPolicy: "IfNotPresent",
    // The image runs the project's CLI; `sidecar` is the subcommand.
    args: ["sidecar"],
    restartPolicy: "Always",
    env: sidecarEnv(config, plan, directoryCA),
    ports: [
      { name: PEER_PORT_NAME, containerPort: s.peerPort, protocol: "TCP" },
      { name: HEALTH_PORT_NAME, containerPort: s.healthPort, protocol: "TCP" },
    ],
    // Generous: app containers (and their pulls) wait for this; 120 s covers a slow sandbox start.
    startupProbe: {
      httpGet: { path: "/readyz", port: s.healthPort },
      periodSeconds: 1,
      timeoutSeconds: 1,
      failureThreshold: 120,
    },
    livenessProbe: {
      httpGet: { path: "/healthz", port: s.healthPort },
      periodSeconds: 10,
      timeoutSeconds: 2,
      failureThreshold: 3,
    },
    resources: {
      requests: {
        cpu: config.resources.cpuRequest,
        memory: formatBytes(config.resources.memoryRequestBytes),
      },
      limits: { cpu: config.resources.cpuLimit, memory: formatBytes(plan.sizing.memoryLimitBytes) },
    },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: SIDECAR_UID,
      runAsGroup: SIDECAR_UID,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
    terminationMessagePolicy: "FallbackToLogsOnError",
    ...(mounts.length > 0 && { volumeMounts: mounts }),
  };
  return { container, volumes };
}

/**
 * Volumes the sidecar mounts: the disk cache's emptyDir (disk mode), and, when peers come from the
 * controller's directory, the projected ServiceAccount token (audience `acr-p2p`) the directory checks
 * with a TokenReview before it hands out peer tickets.
 */
function sidecarVolumes(config: MutationConfig): {
  volumes: Record<string, unknown>[];
  mounts: Record<string, unknown>[];
} {
  const s = config.sidecar;
  const volumes: Record<string, unknown>[] = [];
  const mounts: Record<string, unknown>[] = [];
  if (s.cacheMode === "disk") {
    volumes.push({ name: CACHE_VOLUME_NAME, emptyDir: { sizeLimit: formatBytes(s.capacityBytes) } });
    mounts.push({ name: CACHE_VOLUME_NAME, mountPath: CACHE_MOUNT_PATH });
  }
  if (s.copied["directoryURL"] !== undefined) {
    const tokenFile = sidecarOption("directoryTokenFile").default ?? "";
    volumes.push({
      name: DIRECTORY_TOKEN_VOLUME_NAME,
      projected: {
        sources: [
          {
            serviceAccountToken: {
              audience: DIRECTORY_TOKEN_AUDIENCE,
              expirationSeconds: DIRECTORY_TOKEN_SECONDS,
              path: basename(tokenFile),
            },
          },
        ],
      },
    });
    mounts.push({ name: DIRECTORY_TOKEN_VOLUME_NAME, mountPath: dirname(tokenFile), readOnly: true });
  }
  return { volumes, mounts };
}
