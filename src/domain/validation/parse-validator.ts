import { invalidArgument } from "../errors.js";
import type { JsonValue } from "../json.js";
import { tryCompileRule } from "./compiled-validator.js";
import { NAME_PATTERN, RESERVED_PREFIX, type JsonType, type ValidationRule, type Validator } from "./validator.js";

const TYPES = new Set<JsonType>(["string", "number", "integer", "boolean", "object", "array", "null"]);

/**
 * Checks a validator definition; every problem is INVALID_ARGUMENT naming the
 * field under `field` (e.g. `validator.rules[2].regex`).
 */
export function checkValidator(v: Validator, field = "validator"): Validator {
  if (!NAME_PATTERN.test(v.name)) throw invalidArgument(`${field}.name`, "must be 1-128 letters, digits, . _ or -, starting with a letter or digit");
  if (v.keys.length === 0) throw invalidArgument(`${field}.keys`, "must hold at least one key pattern");
  v.keys.forEach((k, i) => {
    if (k === "" || k.length > 256) throw invalidArgument(`${field}.keys[${i}]`, "must be 1-256 characters");
    if (k.startsWith(RESERVED_PREFIX)) throw invalidArgument(`${field}.keys[${i}]`, `must not cover the reserved prefix ${RESERVED_PREFIX}`);
  });
  if (v.rules.length === 0) throw invalidArgument(`${field}.rules`, "must hold at least one rule");
  if (v.rules.length > 100) throw invalidArgument(`${field}.rules`, "must hold at most 100 rules");
  v.rules.forEach((r, i) => {
    const f = `${field}.rules[${i}]`;
    if (r.path !== "" && !r.path.startsWith("/")) throw invalidArgument(`${f}.path`, 'must be a JSON Pointer ("" or starting with /)');
    if (r.kind === "type" && !TYPES.has(r.type)) throw invalidArgument(`${f}.type`, "is required");
    if (r.kind === "range" && r.min === undefined && r.max === undefined) throw invalidArgument(`${f}.range`, "needs min, max or both");
    if (r.kind === "range" && r.min !== undefined && r.max !== undefined && r.min > r.max) throw invalidArgument(`${f}.range`, "min must not exceed max");
    if (r.kind === "one_of" && r.values.length === 0) throw invalidArgument(`${f}.one_of`, "must list at least one value");
    if (r.kind === "regex" && r.pattern.length > 512) throw invalidArgument(`${f}.regex`, "must be at most 512 characters");
    try {
      tryCompileRule(r);
    } catch (e) {
      const what = r.kind === "regex" ? "is not a linear-time (RE2) regex" : r.kind === "json_schema" ? "is not a valid JSON Schema (draft 2020-12)" : "is invalid";
      throw invalidArgument(`${f}.${r.kind}`, `${what}: ${(e as Error).message}`);
    }
  });
  return v;
}

/** A validator as stored under `_ctm/validators/<name>` (plain JSON), read back. */
export function validatorFromJson(name: string, j: JsonValue | undefined): Validator {
  const o = (j ?? {}) as { keys?: string[]; rules?: ValidationRule[]; description?: string };
  return checkValidator({ name, keys: o.keys ?? [], rules: o.rules ?? [], description: o.description ?? "" }, "value");
}

export const validatorToJson = (v: Validator): JsonValue => ({ keys: v.keys, rules: v.rules as unknown as JsonValue, description: v.description });
