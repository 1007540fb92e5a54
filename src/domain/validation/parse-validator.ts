import { invalidArgument } from "../errors.js";
import type { JsonValue } from "@ctm/core/json";
import { tryCompileRule } from "./compiled-validator.js";
import { checkGlob } from "./key-glob.js";
import { newAllowance } from "./schema-limits.js";
import { checkValidatorDocument } from "./validator-document.js";
import { NAME_PATTERN, RESERVED_PREFIX, type JsonType, type ValidationRule, type Validator } from "./validator.js";

const TYPES = new Set<JsonType>(["string", "number", "integer", "boolean", "object", "array", "null"]);

/** Where a rule's own setting is named: the RPC's oneof case, or the stored document's member. */
const MEMBER = {
  rpc: { type: "type", range: "range", one_of: "one_of", regex: "regex", json_schema: "json_schema" },
  document: { type: "type", range: "min", one_of: "values", regex: "pattern", json_schema: "schema" },
} as const;

/**
 * Checks a validator definition; every problem is INVALID_ARGUMENT naming the
 * field under `field` (e.g. `validator.rules[2].regex`). Every regex (rules,
 * and `pattern`s inside JSON Schemas) must compile on RE2, and schemas must
 * stay within the limits of schema-limits.ts, so that checking a value can
 * never hold the event loop.
 */
export function checkValidator(v: Validator, field = "validator", names: keyof typeof MEMBER = "rpc"): Validator {
  if (!NAME_PATTERN.test(v.name)) throw invalidArgument(`${field}.name`, "must be 1-128 letters, digits, . _ or -, starting with a letter or digit");
  if (v.keys.length === 0) throw invalidArgument(`${field}.keys`, "must hold at least one key pattern");
  if (v.keys.length > 100) throw invalidArgument(`${field}.keys`, "must hold at most 100 key patterns");
  v.keys.forEach((k, i) => {
    checkGlob(k, `${field}.keys[${i}]`);
    if (k.startsWith(RESERVED_PREFIX)) throw invalidArgument(`${field}.keys[${i}]`, `must not cover the reserved prefix ${RESERVED_PREFIX}`);
  });
  if (v.rules.length === 0) throw invalidArgument(`${field}.rules`, "must hold at least one rule");
  if (v.rules.length > 100) throw invalidArgument(`${field}.rules`, "must hold at most 100 rules");
  const allowance = newAllowance();
  v.rules.forEach((r, i) => {
    const f = `${field}.rules[${i}]`;
    const m = MEMBER[names][r.kind];
    if (r.path !== "" && !r.path.startsWith("/")) throw invalidArgument(`${f}.path`, 'must be a JSON Pointer ("" or starting with /)');
    if (r.kind === "type" && !TYPES.has(r.type)) throw invalidArgument(`${f}.${m}`, "is required");
    if (r.kind === "range" && r.min === undefined && r.max === undefined) throw invalidArgument(`${f}.${m}`, "needs min, max or both");
    if (r.kind === "range" && r.min !== undefined && r.max !== undefined && r.min > r.max) throw invalidArgument(`${f}.${m}`, "min must not exceed max");
    if (r.kind === "one_of" && r.values.length === 0) throw invalidArgument(`${f}.${m}`, "must list at least one value");
    if (r.kind === "regex" && r.pattern.length > 512) throw invalidArgument(`${f}.${m}`, "must be at most 512 characters");
    try {
      tryCompileRule(r, allowance);
    } catch (e) {
      const what = r.kind === "regex" ? "is not a linear-time (RE2) regex" : r.kind === "json_schema" ? "is not a valid JSON Schema (draft 2020-12) within ctm's limits" : "is invalid";
      throw invalidArgument(`${f}.${m}`, `${what}: ${(e as Error).message}`);
    }
  });
  return v;
}

/**
 * A validator as stored under `_ctm/validators/<name>` (plain JSON), checked
 * against the document schema first (names the bad member under `field`),
 * then as SetValidator checks a definition.
 */
export function validatorFromJson(name: string, j: JsonValue | undefined, field = "value"): Validator {
  checkValidatorDocument(j ?? null, field);
  const o = j as { keys: string[]; rules: (Omit<ValidationRule, "path"> & { path?: string })[]; description?: string };
  const rules = o.rules.map((r) => ({ ...r, path: r.path ?? "" }) as ValidationRule);
  return checkValidator({ name, keys: o.keys, rules, description: o.description ?? "" }, field, "document");
}

export const validatorToJson = (v: Validator): JsonValue => ({ keys: v.keys, rules: v.rules as unknown as JsonValue, description: v.description });
