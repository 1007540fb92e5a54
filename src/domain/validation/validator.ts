import type { JsonValue } from "@ctm/core/json";

export type JsonType = "string" | "number" | "integer" | "boolean" | "object" | "array" | "null";

/** One check on the part of a value at `path` (a JSON Pointer, "" for the whole value). */
export type ValidationRule = { path: string } & (
  | { kind: "type"; type: JsonType }
  | { kind: "range"; min?: number; max?: number }
  | { kind: "one_of"; values: JsonValue[] }
  | { kind: "regex"; pattern: string }
  | { kind: "json_schema"; schema: { [key: string]: JsonValue } }
);

export interface Validator {
  name: string;
  /** Key globs: `*` within a segment, `**` across segments. */
  keys: string[];
  rules: ValidationRule[];
  description: string;
}

export interface Violation {
  validator: string;
  /** Which value of the request: "value", "rollout.stable", "rollout.variants[1].value". */
  field: string;
  /** JSON Pointer inside that value. */
  path: string;
  message: string;
  rule: number;
}

/** Where validators and health checks live: reserved, versioned keys. */
export const VALIDATOR_PREFIX = "_ctm/validators/";
export const HEALTH_CHECK_PREFIX = "_ctm/health/";
export const RESERVED_PREFIX = "_ctm/";

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
