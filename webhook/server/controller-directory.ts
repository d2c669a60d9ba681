/**
 * The peer directory as part of the controller: on the webhook's host, served with the webhook's own
 * certificate (followed through rotation, so the CA the sidecars are given keeps verifying it), with
 * the ticket key from the mounted Secret when the chart runs several replicas.
 */
import { readFileSync } from "node:fs";
import type { KubeConfig } from "@kubernetes/client-node";
import { generateTicketKey, ticketKeyFromPem, type TicketSigningKey } from "../../contract/peer-ticket.ts";
import type { Logger } from "../../lib/logger.ts";
import type { WebhookConfig } from "../config/webhook-config.ts";
import { startPeerDirectory, type PeerDirectory } from "../directory/peer-directory.ts";
import { DEFAULT_PEER_RULES } from "../directory/ready-peer.ts";
import { TicketIssuer } from "../directory/ticket-issuer.ts";
import type { ServingCertificate } from "./serving-certificate.ts";

/** Sidecars renew their ticket with every directory answer (a long-poll ends within 30 s). */
export const PEER_TICKET_TTL_SECONDS = 600;

export interface ControllerDirectory {
  readonly directory: PeerDirectory;
  readonly url: string;
  /** For /readyz detail: informers listed or not. */
  describe(): string;
  close(): Promise<void>;
}

export async function startControllerDirectory(
  config: WebhookConfig,
  serving: ServingCertificate,
  kubeConfig: KubeConfig,
  logger: Logger,
): Promise<ControllerDirectory> {
  const served = serving.served;
  const keyFile = config.peerTicketKeyFile;
  const issuer = new TicketIssuer(
    readTicketKey(keyFile, logger) ?? generateTicketKey(),
    PEER_TICKET_TTL_SECONDS,
  );
  const directory = await startPeerDirectory({
    kubeConfig,
    host: config.listenHost,
    port: config.directoryPort,
    tls: { key: served.keyPem, cert: served.certPem },
    rules: DEFAULT_PEER_RULES,
    issuer,
    logger: logger.child({ component: "directory" }),
  });
  // The key file is in the serving certificate's Secret: it appears (first install) or changes with it.
  const unsubscribe = serving.onChange((m) => {
    const key = readTicketKey(keyFile, logger);
    if (key && key.kid !== issuer.kid) {
      issuer.useKey(key);
      logger.info({ kid: key.kid }, "peer ticket key loaded from its file");
    }
    try {
      directory.reloadTls({ key: m.keyPem, cert: m.certPem });
    } catch (err) {
      logger.warn({ err }, "directory kept its certificate: the new pair was refused");
    }
  });
  const host = config.listenHost === "0.0.0.0" ? "127.0.0.1" : config.listenHost;
  return {
    directory,
    url: `https://${host}:${directory.address.port}`,
    describe: () => (directory.state.synced ? "synced" : "waiting for pods, nodes and namespaces to list"),
    async close() {
      unsubscribe();
      await directory.close();
    },
  };
}

/**
 * The shared key, or undefined (then a generated one signs until the file appears: with one replica
 * nothing else needs it, with several the directories agree once certgen has run).
 */
function readTicketKey(file: string | undefined, logger: Logger): TicketSigningKey | undefined {
  if (file === undefined) return undefined;
  try {
    return ticketKeyFromPem(readFileSync(file, "utf8"));
  } catch (err) {
    logger.warn(
      { file, problem: String(err) },
      "peer ticket key file not usable; signing with a generated key",
    );
    return undefined;
  }
}
