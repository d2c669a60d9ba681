// The sidecar's undici: the Agent with the request API on it, as undici's own entry assembles it
// (index.js), without the rest of that entry (fetch, WebSocket, EventSource, cache stores, mocks),
// which the sidecar never calls and which cost its process 3 MB at idle. See ../bundle.ts.
"use strict";

const Dispatcher = require("undici/lib/dispatcher/dispatcher.js");
const api = require("undici/lib/api/index.js");

Object.assign(Dispatcher.prototype, api);

exports.Agent = require("undici/lib/dispatcher/agent.js");
