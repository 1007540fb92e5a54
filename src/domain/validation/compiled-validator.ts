import type { ValidateFunction } from "ajv/dist/2020.js";
import { isDeepStrictEqual } from "node:util";
import { invalidArgument } from "../errors.js";
import type { JsonValue } from "@ctm/core/json";
import { globMatcher } from "./key-glob.js";
import { compileDocumentCheckers } from "./document-checker.js";
import { newAjv } from "./new-ajv.js";
import { compileLinear } from "@ctm/core/validation/linear-regex";
import { atPointer } from "./json-pointer.js";
import { OverBudget, SchemaCost, WRITE_CHECK_BUDGET, type WorkBudget } from "./schema-cost.js";
import { checkSchema, newAllowance, spendPattern, type CompileAllowance } from "./schema-limits.js";
import type { ValidationRule, Validator, Violation } from "./validator.js";

export { atPointer, pointerOf } from "./json-pointer.js";

/** A rule ready to run: `cost` is an upper bound of the work a value takes, in budget units. */
interface CompiledRule {
  check: (v: JsonValue) => string | undefined;
  schema?: ValidateFunction;
  cost: (v: JsonValue, limit: number) => number;
}

export interface CompiledValidator {
  validator: Validator;
  matches: (key: string) => boolean;
  /**
   * Violations of `value` (the request's `field`), each rule checked. Each
   * rule's cost is drawn from `budget` before it runs; past it, the value is
   * refused with INVALID_ARGUMENT naming `field`, so no value can make a check
   * hold the event loop (see schema-cost.ts).
   */
  check: (value: JsonValue, field: string, budget?: WorkBudget) => Violation[];
}

// One Ajv for every validator: compiled schemas are cached below by their JSON
// text, so a definition written and then loaded from the log (or reloaded at
// start) is compiled once. Cleared when full, like the regex cache, and the Ajv
// with it: its code scope keeps every pattern and function it ever compiled.
let ajv: ReturnType<typeof newAjv> | undefined;
const schemas = new Map<string, ValidateFunction>();
const SCHEMA_CACHE = 500;

function compileSchema(schema: { [key: string]: JsonValue }): ValidateFunction {
  const id = JSON.stringify(schema);
  let fn = schemas.get(id);
  if (fn === undefined) {
    // Ajv resolves `$ref: "#"` only against a root with an `$id`; none is registered (addUsedSchema: false).
    const root = "$id" in schema ? schema : { $id: "ctm:validator", ...schema };
    if (schemas.size >= SCHEMA_CACHE) {
      schemas.clear();
      ajv = newAjv();
    }
    ajv ??= newAjv();
    fn = ajv.compile(root);
    ajv.removeSchema(root);
    schemas.set(id, fn);
  }
  return fn;
}

/**
 * Compiles and runs one small schema, then the schemas of ctm's reserved documents. Ajv's first
 * compile in a process builds its code generators and V8 compiles them: 70-150 ms, which would
 * otherwise land on the first client that sends a schema, holding the event loop for everyone.
 */
export function warmUpSchemas(): void {
  const fn = compileSchema({ type: "object", required: ["a"], properties: { a: { type: "string", pattern: "^a", enum: ["a"] }, b: { type: "array", items: { type: "integer", minimum: 0 }, uniqueItems: true } } });
  fn({ a: "a", b: [1, 2] });
  compileDocumentCheckers();
}

const typeOf = (v: JsonValue): string => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
const constant = () => 1;

/** Compiles one rule, drawing its schema keywords and pattern instructions from the validator's allowance. */
function compileRule(rule: ValidationRule, allowance: CompileAllowance): CompiledRule {
  switch (rule.kind) {
    case "type":
      return {
        cost: constant,
        check: (v) => {
          const ok = rule.type === "integer" ? Number.isInteger(v) : typeOf(v) === rule.type;
          return ok ? undefined : `must be of type ${rule.type}, not ${typeOf(v)}`;
        },
      };
    case "range":
      return {
        cost: constant,
        check: (v) => {
          if (typeof v !== "number") return `must be a number to check its range, not ${typeOf(v)}`;
          if (rule.min !== undefined && v < rule.min) return `must be >= ${rule.min}, not ${v}`;
          if (rule.max !== undefined && v > rule.max) return `must be <= ${rule.max}, not ${v}`;
          return undefined;
        },
      };
    case "one_of": {
      // A long list is not repeated in every violation (they travel in trailers).
      const allowed = JSON.stringify(rule.values);
      const message = allowed.length <= 200 ? `must be one of ${allowed}` : `must be one of the ${rule.values.length} allowed values`;
      // Each comparison stops at the first difference: at most the list's size in all.
      return { cost: () => 1 + allowed.length, check: (v) => (rule.values.some((x) => isDeepStrictEqual(x, v)) ? undefined : message) };
    }
    case "regex": {
      spendPattern(rule.pattern, allowance);
      const re = compileLinear(rule.pattern);
      return {
        cost: (v) => 1 + (typeof v === "string" ? v.length * re.programSize : 0),
        check: (v) => (typeof v !== "string" ? `must be a string to match /${rule.pattern}/` : re.test(v) ? undefined : `must match /${rule.pattern}/`),
      };
    }
    case "json_schema": {
      checkSchema(rule.schema, allowance, WRITE_CHECK_BUDGET);
      const estimate = new SchemaCost(rule.schema);
      return { cost: (v, limit) => estimate.of(v, limit), check: () => undefined, schema: compileSchema(rule.schema) };
    }
  }
}

const cache = new WeakMap<Validator, CompiledValidator>();

/** Compiles once per definition object: definitions are immutable records. */
export function compileValidator(v: Validator): CompiledValidator {
  let c = cache.get(v);
  if (c !== undefined) return c;
  const allowance = newAllowance();
  const rules = v.rules.map((r) => ({ rule: r, ...compileRule(r, allowance) }));
  const isMatch = globMatcher(v.keys);
  c = {
    validator: v,
    matches: isMatch,
    check: (value, field, budget = { left: WRITE_CHECK_BUDGET }) => {
      const out: Violation[] = [];
      rules.forEach(({ rule, check, schema, cost }, i) => {
        const part = atPointer(value, rule.path);
        const base = { validator: v.name, field, rule: i };
        if (part === undefined) {
          out.push({ ...base, path: rule.path, message: "is missing" });
          return;
        }
        try {
          budget.left -= cost(part, budget.left);
        } catch (e) {
          if (!(e instanceof OverBudget)) throw e;
          throw invalidArgument(
            field,
            `is too big to check against validator "${v.name}" (rule ${i}) within what one write may spend on checks (${WRITE_CHECK_BUDGET} units, about 20 ms): send a smaller value or simplify the validator`,
          );
        }
        if (schema) {
          if (!schema(part)) {
            for (const e of schema.errors ?? []) out.push({ ...base, path: rule.path + e.instancePath, message: e.message ?? "violates the schema" });
          }
          return;
        }
        const message = check(part);
        if (message) out.push({ ...base, path: rule.path, message });
      });
      return out;
    },
  };
  cache.set(v, c);
  return c;
}

/** Throws the compiler's own words for a regex or schema that cannot be used (or does not fit the allowance). */
export function tryCompileRule(rule: ValidationRule, allowance: CompileAllowance = newAllowance()): void {
  compileRule(rule, allowance);
}
