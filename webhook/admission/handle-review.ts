/**
 * From request body to answer, without HTTP: decode the AdmissionReview, route it (pod CREATE or
 * not), admit the pod, encode the answer, count it. The HTTP layer and the fuzz test both call this.
 * Only a body that is not an AdmissionReview gets a 4xx; anything with a uid gets a 200 answer.
 */
import { checkPod, PodShapeError } from "../mutation/pod.ts";
import { skipAnnotationPatch } from "../mutation/skip-annotation.ts";
import type { AdmissionResult, WebhookMetrics } from "../metrics/webhook-metrics.ts";
import { admitPod, type AdmissionDeps } from "./admit-pod.ts";
import { reportSkipToOwner } from "./skip-event.ts";
import {
  AdmissionInputError,
  decodeAdmissionReview,
  encodeAdmissionResponse,
  encodeInputError,
  type AdmissionAnswer,
} from "./admission-review.ts";

export interface HttpAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export async function handleReview(
  text: string,
  deps: AdmissionDeps,
  metrics: WebhookMetrics,
): Promise<HttpAnswer> {
  const started = process.hrtime.bigint();
  let result: AdmissionResult = "error";
  try {
    const answer = await answerReview(text, deps, metrics);
    result = answer.result;
    return answer.http;
  } catch (err) {
    if (err instanceof AdmissionInputError) {
      result = "rejected";
      metrics.errors.inc({ code: err.code });
      deps.logger.info(
        { code: err.code, err: err.message },
        "rejected a request that is not an AdmissionReview",
      );
      return { status: err.status, body: encodeInputError(err) };
    }
    throw err;
  } finally {
    metrics.admissions.inc({ result });
    metrics.latency.observe({ result }, Number(process.hrtime.bigint() - started) / 1e9);
  }
}

async function answerReview(
  text: string,
  deps: AdmissionDeps,
  metrics: WebhookMetrics,
): Promise<{ result: AdmissionResult; http: HttpAnswer }> {
  const request = decodeAdmissionReview(text);
  const reply = (result: AdmissionResult, answer: AdmissionAnswer) => ({
    result,
    http: { status: 200, body: encodeAdmissionResponse(request.uid, answer) },
  });
  const ignore = (message: string, warn = false) =>
    reply("ignored", { message, ...(warn && { warnings: [message] }) });

  const kind = request.kind;
  if (kind.group !== "" || kind.version !== "v1" || kind.kind !== "Pod") {
    return ignore(`only Pods are mutated; got ${kind.group || "core"}/${kind.version} ${kind.kind}`);
  }
  if (request.subResource) return ignore(`subresource ${request.subResource} is not mutated`);
  if (request.operation !== "CREATE")
    return ignore(`operation ${request.operation} is not handled (CREATE only)`);
  let pod;
  try {
    pod = checkPod(request.object, "request.object");
  } catch (err) {
    if (err instanceof PodShapeError) {
      metrics.errors.inc({ code: err.code });
      return ignore(`not injected: ${err.message}`, true);
    }
    throw err;
  }
  const namespace = request.namespace || pod.metadata?.namespace;
  if (!namespace) return ignore("request.namespace is empty: cannot tell where the pod is created", true);

  const log = deps.logger.child({
    uid: request.uid,
    namespace,
    pod: pod.metadata?.name ?? pod.metadata?.generateName,
  });
  try {
    const admitted = await admitPod(pod, namespace, request.dryRun === true, { ...deps, logger: log });
    if (admitted.injected) {
      metrics.injections.inc();
      log.info(
        {
          images: admitted.plan.images.rewrites.length,
          pullSecrets: admitted.derivedSecrets.length,
          ...(admitted.tempPullSecret && { tempCredentials: admitted.tempPullSecret.kind }),
          dryRun: request.dryRun === true,
        },
        "injected",
      );
      return reply("injected", {
        patch: admitted.patch,
        warnings: admitted.warnings,
        auditAnnotations: { injected: "true" },
      });
    }
    // A pod that already has the sidecar: a reinvocation after another webhook's change (or a copy of
    // an injected pod). Nothing was skipped.
    if (admitted.skip.reason === "already-injected") {
      log.debug("already injected");
      return reply("ignored", { message: admitted.skip.message });
    }
    metrics.skips.inc({ reason: admitted.skip.reason });
    // In the background: the answer must not wait for the API server; a dry run records nothing.
    if (request.dryRun !== true)
      void reportSkipToOwner(deps.kube, namespace, pod, admitted.skip, log, deps.recentSkipEvents);
    log[admitted.skip.warn ? "info" : "debug"](
      { reason: admitted.skip.reason, detail: admitted.skip.message },
      "skipped",
    );
    const message = `not injected (${admitted.skip.reason}): ${admitted.skip.message}`;
    return reply("skipped", {
      patch: skipAnnotationPatch(pod, admitted.skip),
      message,
      warnings: [...(admitted.skip.warn ? [message] : []), ...admitted.warnings],
      auditAnnotations: { "skip-reason": admitted.skip.reason },
    });
  } catch (err) {
    // A bug, not bad input: the pod goes through unmodified and the cause goes to the log only.
    metrics.errors.inc({ code: "INTERNAL" });
    log.error({ err }, "admission failed");
    return reply("error", { message: "not injected: internal error (see the webhook's log)" });
  }
}
