import { documentChecker } from "../validation/document-checker.js";

const MAX_INT = Number.MAX_SAFE_INTEGER;
const url = { type: "string", minLength: 1, maxLength: 2048 };
const source = (kind: string, properties: object, required: string[]) => ({
  type: "object",
  properties: { kind: { const: kind }, ...properties },
  required: ["kind", ...required],
  additionalProperties: false,
});

/**
 * A health check as stored under `_ctm/health/<name>`: what SetHealthCheck
 * writes, and what a raw Set or Apply of that key must look like. An unknown
 * source used to be stored as it came, probed `undefined` on every tick and
 * could trigger an auto-rollback; an unknown action rolled back.
 * Members left out take the RPC's defaults (parse-health-check.ts). Times are
 * milliseconds, fractions allowed (the RPC's durations carry nanoseconds).
 */
export const HEALTH_CHECK_DOCUMENT_SCHEMA = {
  type: "object",
  properties: {
    keys: { type: "array", minItems: 1, maxItems: 100, items: { type: "string", minLength: 1, maxLength: 256 } },
    source: {
      type: "object",
      discriminator: { propertyName: "kind" },
      required: ["kind"],
      oneOf: [
        source("pushed", {}, []),
        source("http", { url, expectStatus: { type: "integer", minimum: 0, maximum: 599 }, maxLatencyMs: { type: "number", minimum: 0, maximum: MAX_INT } }, ["url"]),
        source("prometheus", { url, query: { type: "string", minLength: 1, maxLength: 10_000 }, stableQuery: { type: "string", maxLength: 10_000 } }, ["url", "query"]),
      ],
    },
    maxErrorRate: { type: "number", minimum: 0, maximum: 1 },
    maxIncrease: { type: "number", minimum: 0, maximum: 1 },
    windowMs: { type: "number", minimum: 0, maximum: MAX_INT },
    minSamples: { type: "integer", minimum: 0, maximum: MAX_INT },
    failuresToAct: { type: "integer", minimum: 0, maximum: MAX_INT },
    action: { enum: ["rollback", "pause"] },
    bakeMs: { type: "number", minimum: 0, maximum: MAX_INT },
  },
  required: ["keys", "maxErrorRate"],
  additionalProperties: false,
} as const;

export const checkHealthCheckDocument = documentChecker(HEALTH_CHECK_DOCUMENT_SCHEMA);
