/**
 * The controller's Prometheus metrics, on a registry of its own (several servers can live in one
 * test process). Skip reasons are pre-declared so every series exists from the first scrape.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { registerBuildInfo } from "../../lib/build-info.ts";
import { SKIP_REASONS } from "../mutation/skip.ts";

export type AdmissionResult = "injected" | "skipped" | "ignored" | "rejected" | "error";

export class WebhookMetrics {
  readonly registry = new Registry();
  readonly admissions: Counter<"result">;
  readonly injections: Counter;
  readonly skips: Counter<"reason">;
  readonly errors: Counter<"code">;
  readonly latency: Histogram<"result">;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.admissions = new Counter({
      name: "acr_p2p_webhook_admissions_total",
      help: "Admission requests by result: injected, skipped (with a reason), ignored (not a pod CREATE or not readable), rejected (not an AdmissionReview, 4xx), error.",
      labelNames: ["result"],
      registers,
    });
    this.injections = new Counter({
      name: "acr_p2p_webhook_injections_total",
      help: "Pods injected with the sidecar.",
      registers,
    });
    this.skips = new Counter({
      name: "acr_p2p_webhook_skips_total",
      help: "Pods left alone, by reason.",
      labelNames: ["reason"],
      registers,
    });
    this.errors = new Counter({
      name: "acr_p2p_webhook_errors_total",
      help: "Bad requests and internal errors, by code.",
      labelNames: ["code"],
      registers,
    });
    this.latency = new Histogram({
      name: "acr_p2p_webhook_admission_duration_seconds",
      help: "Time from a request's body being read to its answer being ready.",
      labelNames: ["result"],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    for (const reason of SKIP_REASONS) this.skips.inc({ reason }, 0);
    registerBuildInfo(this.registry, "controller");
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
