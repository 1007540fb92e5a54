import { invalidArgument } from "../../domain/errors.js";
import type { JsonType, ValidationRule, Validator, Violation } from "../../domain/validation/validator.js";
import { ValueType, type Validator as PbValidator, type Violation as PbViolation } from "../../gen/ctm/v1/validator_service.js";

const TYPES: Partial<Record<ValueType, JsonType>> = {
  [ValueType.VALUE_TYPE_STRING]: "string",
  [ValueType.VALUE_TYPE_NUMBER]: "number",
  [ValueType.VALUE_TYPE_INTEGER]: "integer",
  [ValueType.VALUE_TYPE_BOOLEAN]: "boolean",
  [ValueType.VALUE_TYPE_OBJECT]: "object",
  [ValueType.VALUE_TYPE_ARRAY]: "array",
  [ValueType.VALUE_TYPE_NULL]: "null",
};
const PB_TYPES = Object.fromEntries(Object.entries(TYPES).map(([k, v]) => [v, Number(k)])) as Record<JsonType, ValueType>;

export function toValidator(v: PbValidator | undefined): Validator {
  if (!v) throw invalidArgument("validator", "is required");
  return {
    name: v.name,
    keys: v.keys,
    description: v.description,
    rules: v.rules.map((r, i): ValidationRule => {
      const path = r.path;
      const rule = r.rule;
      switch (rule?.$case) {
        case "type": {
          const type = TYPES[rule.value];
          if (!type) throw invalidArgument(`validator.rules[${i}].type`, "is required");
          return { path, kind: "type", type };
        }
        case "range":
          return { path, kind: "range", ...(rule.value.min !== undefined && { min: rule.value.min }), ...(rule.value.max !== undefined && { max: rule.value.max }) };
        case "oneOf":
          return { path, kind: "one_of", values: rule.value.values };
        case "regex":
          return { path, kind: "regex", pattern: rule.value };
        case "jsonSchema":
          return { path, kind: "json_schema", schema: rule.value ?? {} };
        default:
          throw invalidArgument(`validator.rules[${i}]`, "needs one of type, range, one_of, regex, json_schema");
      }
    }),
  };
}

export function toPbValidator(v: Validator): PbValidator {
  return {
    name: v.name,
    keys: v.keys,
    description: v.description,
    rules: v.rules.map((r) => ({
      path: r.path,
      rule:
        r.kind === "type"
          ? { $case: "type", value: PB_TYPES[r.type] }
          : r.kind === "range"
            ? { $case: "range", value: { min: r.min, max: r.max } }
            : r.kind === "one_of"
              ? { $case: "oneOf", value: { values: r.values } }
              : r.kind === "regex"
                ? { $case: "regex", value: r.pattern }
                : { $case: "jsonSchema", value: r.schema },
    })),
  };
}

export const toPbViolation = (v: Violation): PbViolation => ({ ...v });
