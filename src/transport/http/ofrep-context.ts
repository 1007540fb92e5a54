import type { EvalContext } from "@ctm/core/rollout/plan";
import { CONTEXT_LIMITS } from "../../domain/limits.js";
import { OfrepError } from "./ofrep-error.js";

/**
 * What one OFREP request may carry: the body, and a context within the limits every face keeps
 * (CONTEXT_LIMITS). A targeting key may be as long as an access-log unit id.
 */
export const OFREP_LIMITS = {
  bodyBytes: 64 * 1024,
  attributes: CONTEXT_LIMITS.attributes,
  nameChars: CONTEXT_LIMITS.nameChars,
  valueChars: CONTEXT_LIMITS.valueChars,
  targetingKeyChars: CONTEXT_LIMITS.unitIdChars,
} as const;

const EMPTY: EvalContext = { unitId: "", environment: "", attributes: {} };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * ctm's evaluation context from an OFREP request body (`{"context": {...}}`, or nothing):
 * `targetingKey` is the unit id, `environment` the ring environment, and every other string,
 * number or boolean an attribute for rules (as a string, as the TypeScript provider passes them).
 * Structured attributes (objects, arrays, null) are left out: no ctm rule can compare them.
 * Not JSON is PARSE_ERROR; a context of the wrong shape or past the limits is INVALID_CONTEXT.
 */
export function ofrepContext(body: Buffer): EvalContext {
  if (body.length === 0) return EMPTY;
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch (e) {
    throw new OfrepError(400, "PARSE_ERROR", `the body is not JSON: ${(e as Error).message}`);
  }
  if (!isObject(json)) throw new OfrepError(400, "PARSE_ERROR", 'the body must be a JSON object such as {"context": {...}}');
  const c = json["context"];
  if (c === undefined || c === null) return EMPTY;
  if (!isObject(c)) throw new OfrepError(400, "INVALID_CONTEXT", "context must be a JSON object");
  const names = Object.keys(c);
  if (names.length > OFREP_LIMITS.attributes) throw invalid(`has ${names.length} attributes; the limit is ${OFREP_LIMITS.attributes}`);
  // No prototype: an attribute named "__proto__" is an attribute like any other.
  const attributes = Object.create(null) as Record<string, string>;
  let unitId = "";
  let environment = "";
  for (const name of names) {
    if (name.length > OFREP_LIMITS.nameChars) throw invalid(`an attribute name is longer than ${OFREP_LIMITS.nameChars} characters`);
    const v = c[name];
    if (name === "targetingKey") {
      if (typeof v !== "string") throw invalid("targetingKey must be a string");
      if (v.length > OFREP_LIMITS.targetingKeyChars) throw invalid(`targetingKey is longer than ${OFREP_LIMITS.targetingKeyChars} characters`);
      unitId = v;
      continue;
    }
    const text = typeof v === "string" ? v : (typeof v === "number" && Number.isFinite(v)) || typeof v === "boolean" ? String(v) : undefined;
    if (text === undefined) {
      if (name === "environment" && v !== null) throw invalid("environment must be a string");
      continue;
    }
    if (text.length > OFREP_LIMITS.valueChars) throw invalid(`attribute "${name}" is longer than ${OFREP_LIMITS.valueChars} characters`);
    if (name === "environment") environment = text;
    else attributes[name] = text;
  }
  return { unitId, environment, attributes };
}

const invalid = (why: string): OfrepError => new OfrepError(400, "INVALID_CONTEXT", `context: ${why}`);
