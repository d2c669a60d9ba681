/**
 * The names the webhook reads and writes on pods (design.md "Names"). Peer labels come from
 * contract/peer-group.ts, shared with the peer directory.
 */
export { PEER_GROUP_LABEL, PEER_LABEL } from "../../contract/peer-group.ts";

/** Opt-in label (namespace or pod) and the annotation ECI reads, both with value `p2p`. */
export const ACCELERATE_MODE = "k8s.aliyun.com/image-accelerate-mode";
export const ACCELERATE_MODE_P2P = "p2p";
/** JSON record of what was injected (see p2p-config.ts); also the "already injected" marker. */
export const P2P_CONFIG_ANNOTATION = "k8s.aliyun.com/p2p-config";
/** ECI pulls over HTTPS unless the registry is listed here (comma-separated host[:port]). */
export const PLAIN_HTTP_ANNOTATION = "k8s.aliyun.com/plain-http-registry";

/** Per-pod overrides (validated; an invalid one means "not injected", with a warning naming it). */
export const CACHE_SIZE_ANNOTATION = "acr-p2p/cache-size";
export const MEMORY_LIMIT_ANNOTATION = "acr-p2p/sidecar-memory-limit";
export const PEER_SHARING_ANNOTATION = "acr-p2p/peer-sharing";
/** On a pod that asked for acceleration and was left alone: `<reason>: <message>`. */
export const SKIPPED_ANNOTATION = "acr-p2p/not-injected";

export const SIDECAR_CONTAINER_NAME = "acr-p2p-sidecar";
export const PEER_PORT_NAME = "p2p-peer";
export const HEALTH_PORT_NAME = "p2p-health";
export const CACHE_VOLUME_NAME = "acr-p2p-cache";
export const CACHE_MOUNT_PATH = "/var/cache/acr-p2p";
export const DIRECTORY_TOKEN_VOLUME_NAME = "acr-p2p-directory-token";

export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY_VALUE = "acr-p2p";

/** Virtual nodes (virtual-kubelet, e.g. ACK's ECI nodes) carry this label and taint. */
export const VIRTUAL_NODE_LABEL = "type";
export const VIRTUAL_NODE_LABEL_VALUE = "virtual-kubelet";
export const VIRTUAL_NODE_TAINT = "virtual-kubelet.io/provider";
/**
 * ACK schedules a pod labelled so (on itself, or on its namespace) to ECI: its virtual-node webhook
 * adds the selector and toleration, possibly after ours ran.
 */
export const ECI_LABEL = "alibabacloud.com/eci";

/** Native sidecars (restartPolicy Always on an init container) are on by default from 1.29. */
export const MIN_KUBE_VERSION = Object.freeze({ major: 1, minor: 29 });
