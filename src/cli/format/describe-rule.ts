import { valueTypeToJSON, type ValidationRule, type Validator } from "../../gen/ctm/v1/validator_service.js";
import { compactJson } from "./format-values.js";

/** VALUE_TYPE_INTEGER -> integer. */
export const typeName = (t: number): string => valueTypeToJSON(t).replace(/^VALUE_TYPE_/, "").toLowerCase();

/** What a rule checks, in a few words: "/port: range 1..65535", "type integer", "one of ["EUR","USD"]". */
export function describeRule(r: ValidationRule, max = 60): string {
  const rule = r.rule;
  let what: string;
  switch (rule?.$case) {
    case "type":
      what = `type ${typeName(rule.value)}`;
      break;
    case "range": {
      const { min, max: hi } = rule.value;
      what = min !== undefined && hi !== undefined ? `range ${min}..${hi}` : min !== undefined ? `range >= ${min}` : hi !== undefined ? `range <= ${hi}` : "range (unbounded)";
      break;
    }
    case "oneOf":
      what = `one of ${compactJson(rule.value.values, max)}`;
      break;
    case "regex":
      what = `regex /${rule.value}/`;
      break;
    case "jsonSchema":
      what = `schema ${compactJson(rule.value, max)}`;
      break;
    default:
      what = "(no rule)";
  }
  return r.path ? `${r.path}: ${what}` : what;
}

/** A validator's rules, one per line. */
export const describeRules = (v: Validator): string => (v.rules.length ? v.rules.map((r) => describeRule(r)).join("\n") : "-");
