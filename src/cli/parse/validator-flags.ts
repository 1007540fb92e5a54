import { InvalidArgumentError, Option, type Command } from "commander";
import { Validator, ValueType, type ValidationRule } from "../../gen/ctm/v1/validator_service.js";
import { invalidArgument } from "../cli-error.js";
import { readJsonFile } from "../read-json-file.js";
import { parseNumber } from "./parse-numbers.js";

const TYPES = ["string", "number", "integer", "boolean", "object", "array", "null"] as const;
const TYPE_VALUES: Record<(typeof TYPES)[number], ValueType> = {
  string: ValueType.VALUE_TYPE_STRING,
  number: ValueType.VALUE_TYPE_NUMBER,
  integer: ValueType.VALUE_TYPE_INTEGER,
  boolean: ValueType.VALUE_TYPE_BOOLEAN,
  object: ValueType.VALUE_TYPE_OBJECT,
  array: ValueType.VALUE_TYPE_ARRAY,
  null: ValueType.VALUE_TYPE_NULL,
};

/** A rule flag as given, in command-line order; --schema files are read in the action. */
type RuleSpec = { flag: string; path: string } & ({ rule: ValidationRule["rule"] } | { schemaFile: string });

/**
 * Rule flags are order-sensitive: each adds one rule at the --path given before it.
 * Commander calls argument parsers in command-line order, so they record into this.
 */
export class RuleCollector {
  path = "";
  /** The flag that set `path` while no rule has used it yet. */
  pendingPath: string | undefined;
  readonly specs: RuleSpec[] = [];

  private add(flag: string, spec: { rule: ValidationRule["rule"] } | { schemaFile: string }): number {
    this.specs.push({ flag, path: this.path, ...spec });
    this.pendingPath = undefined;
    return this.specs.length;
  }

  setPath(text: string): string {
    if (text !== "" && !text.startsWith("/")) throw new InvalidArgumentError(`"${text}" is not a JSON Pointer ("" or /a/0/b)`);
    this.path = text;
    this.pendingPath = text;
    return text;
  }

  type(text: string): number {
    const t = text.trim().toLowerCase() as (typeof TYPES)[number];
    if (!TYPES.includes(t)) throw new InvalidArgumentError(`"${text}" is not one of ${TYPES.join(", ")}`);
    return this.add("--type", { rule: { $case: "type", value: TYPE_VALUES[t] } });
  }

  range(text: string): number {
    const parts = text.split(",");
    if (parts.length !== 2) throw new InvalidArgumentError("expected min,max (either may be empty: 1, or ,500)");
    const [min, max] = parts.map((p, i) => (p.trim() === "" ? undefined : parseNumber(p, i === 0 ? "min" : "max")));
    if (min === undefined && max === undefined) throw new InvalidArgumentError("give a min, a max or both");
    if (min !== undefined && max !== undefined && min > max) throw new InvalidArgumentError(`min ${min} is above max ${max}`);
    return this.add("--range", { rule: { $case: "range", value: { min, max } } });
  }

  oneOf(text: string): number {
    let values: unknown;
    try {
      values = JSON.parse(`[${text}]`);
    } catch {
      throw new InvalidArgumentError(`"${text}" is not a comma-separated list of JSON values (quote strings: '"EUR","USD"')`);
    }
    if (!Array.isArray(values) || values.length === 0) throw new InvalidArgumentError("give at least one value");
    return this.add("--one-of", { rule: { $case: "oneOf", value: { values } } });
  }

  regex(text: string): number {
    if (text === "") throw new InvalidArgumentError("is empty");
    return this.add("--regex", { rule: { $case: "regex", value: text } });
  }

  schema(file: string): number {
    return this.add("--schema", { schemaFile: file });
  }

  /** A usage problem: a --path that no rule flag follows. */
  problem(): string | undefined {
    return this.pendingPath === undefined ? undefined : `error: --path "${this.pendingPath}" applies to the rule flags after it, and none follows`;
  }

  /** The rules, with --schema files read (a missing file is NOT_FOUND, bad JSON INVALID_ARGUMENT). */
  async rules(): Promise<ValidationRule[]> {
    const out: ValidationRule[] = [];
    for (const s of this.specs) {
      if ("rule" in s) out.push({ path: s.path, rule: s.rule });
      else {
        const schema = await readJsonFile(s.schemaFile);
        if (typeof schema !== "object" || schema === null || Array.isArray(schema)) throw invalidArgument(s.schemaFile, "a JSON Schema must be a JSON object");
        out.push({ path: s.path, rule: { $case: "jsonSchema", value: schema } });
      }
    }
    return out;
  }
}

export const RULE_FLAGS = ["type", "range", "oneOf", "regex", "schema", "path"];

/** --path and the rule flags, each recording into `rules` in command-line order. */
export function addRuleOptions(cmd: Command, rules: RuleCollector): Command {
  const opts = [
    new Option("--path <pointer>", 'JSON Pointer of the part the following rule flags check (default "": the whole value)').argParser((t) => rules.setPath(t)),
    new Option("--type <type>", `the value is of this JSON type: ${TYPES.join(", ")}`).argParser((t) => rules.type(t)),
    new Option("--range <min,max>", "a number within min..max, inclusive (1,500; 1, for no max; ,500 for no min)").argParser((t) => rules.range(t)),
    new Option("--one-of <json,json>", `one of these JSON values, e.g. '"EUR","USD"' or 1,2,3`).argParser((t) => rules.oneOf(t)),
    new Option("--regex <re2>", "a string matching this RE2 pattern (anywhere unless anchored)").argParser((t) => rules.regex(t)),
    new Option("--schema <file.json>", "valid against this JSON Schema (draft 2020-12)").argParser((t) => rules.schema(t)),
  ];
  for (const o of opts) cmd.addOption(o.helpGroup("Rule options (each adds one rule at the current --path; repeatable, in order):"));
  return cmd;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A Validator from its proto JSON (camelCase or snake_case field names), or a
 * SetValidatorRequest-shaped {"validator": {...}}; rule types may be "integer" or "VALUE_TYPE_INTEGER".
 */
export function validatorFromJson(json: unknown, field: string): Validator {
  const doc = isObject(json) && isObject(json.validator) ? json.validator : json;
  if (!isObject(doc)) throw invalidArgument(field, "must be a JSON object (a Validator)");
  const rules = Array.isArray(doc.rules) ? doc.rules : [];
  const fixed = {
    ...doc,
    rules: rules.map((r: unknown, i) => {
      if (!isObject(r)) throw invalidArgument(`${field}: rules[${i}]`, "must be an object");
      const t = r.type;
      if (typeof t === "string" && t in TYPE_VALUES) return { ...r, type: TYPE_VALUES[t as keyof typeof TYPE_VALUES] };
      return r;
    }),
  };
  const v = Validator.fromJSON(fixed);
  v.rules.forEach((r, i) => {
    if (r.rule?.$case === "type" && r.rule.value === ValueType.UNRECOGNIZED) {
      throw invalidArgument(`${field}: rules[${i}].type`, `${JSON.stringify(rules[i].type)} is not one of ${TYPES.join(", ")}`);
    }
  });
  return v;
}
