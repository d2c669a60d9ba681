/** What `acr-p2p cleanup` asks of the API server (ClientNodeCleanupApi in the product, a test double in unit tests). */
export interface CleanupApi {
  /** Deletes the MutatingWebhookConfiguration; false when it was already gone. */
  deleteWebhookConfig(name: string): Promise<boolean>;
  listNamespaces(): Promise<string[]>;
  /**
   * Deletes every Secret of the namespace that matches the label selector. (client-node reads the
   * answer as a Status, so which ones is not known here.)
   */
  deleteSecrets(namespace: string, labelSelector: string): Promise<void>;
}
