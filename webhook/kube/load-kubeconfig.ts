/** The cluster access every controller command uses: a kubeconfig file, else in-cluster config. */
import { KubeConfig } from "@kubernetes/client-node";

export function loadKubeConfig(kubeconfig: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig !== undefined) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  return kc;
}
