// The sidecar's prom-client: the registry, the metric types and the default metrics, from the files
// prom-client's entry (index.js) takes them from, without the Pushgateway and cluster aggregation
// (node:https, tls and more loaded for nothing). See ../bundle.ts.
"use strict";

exports.Registry = require("prom-client/lib/registry.js");
exports.Counter = require("prom-client/lib/counter.js");
exports.Gauge = require("prom-client/lib/gauge.js");
exports.Histogram = require("prom-client/lib/histogram.js");
exports.collectDefaultMetrics = require("prom-client/lib/defaultMetrics.js");
