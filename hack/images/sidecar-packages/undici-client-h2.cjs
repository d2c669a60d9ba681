// Stands in for undici's HTTP/2 client (lib/dispatcher/client-h2.js), whose node:http2 brings tls and
// more into the process. Every sidecar Agent sets allowH2: false, so nothing reaches this.
"use strict";

module.exports = function connectH2() {
  throw new Error("HTTP/2 is not in the sidecar bundle: its undici Agents must set allowH2: false");
};
