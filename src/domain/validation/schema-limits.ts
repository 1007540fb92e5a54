import type { JsonValue } from "@ctm/core/json";
import { pointerOf } from "./json-pointer.js";
import { MAX_PROGRAM_SIZE, compileLinear } from "@ctm/core/validation/linear-regex";
import { estimateProgramSize } from "@ctm/core/validation/regex-size";
import { OverBudget, SchemaCost } from "./schema-cost.js";

type SchemaObject = { [key: string]: JsonValue };

/**
 * Keywords in all the JSON Schemas of one validator. Ajv generates and compiles
 * code for each: up to 0.2 ms of CPU a keyword (measured on a busy 2-core
 * machine; compiling grows faster than the schema past a few hundred), so a
 * validator definition compiles in well under 100 ms. Bigger schemas can be split
 * over several validators (each is its own write).
 */
export const MAX_SCHEMA_KEYWORDS = 150;

/**
 * RE2 instructions in all the patterns of one validator (regex rules and
 * `pattern`s in its schemas; see linear-regex.ts): compiling them all stays
 * within about 100 ms even for Unicode classes, the costliest to compile.
 */
export const MAX_VALIDATOR_INSTRUCTIONS = 1000;

/** What one validator definition may still compile; every rule draws from it. */
export interface CompileAllowance {
  keywords: number;
  instructions: number;
}

export const newAllowance = (): CompileAllowance => ({ keywords: MAX_SCHEMA_KEYWORDS, instructions: MAX_VALIDATOR_INSTRUCTIONS });

/** What compiling any pattern costs beyond its instructions (about 0.3 ms), in instructions. */
const PATTERN_OVERHEAD = 10;

/** Compiles `pattern` on RE2 if the validator's allowance has room for it; throws Error otherwise. */
export function spendPattern(pattern: string, allowance: CompileAllowance): void {
  // Above the limit for one pattern, compileLinear refuses it (also without compiling).
  const estimate = estimateProgramSize(pattern);
  if (estimate <= MAX_PROGRAM_SIZE && estimate + PATTERN_OVERHEAD > allowance.instructions) {
    throw new Error(`would compile to about ${estimate} instructions, more than the ${allowance.instructions} left of the ${MAX_VALIDATOR_INSTRUCTIONS} all patterns of one validator may use`);
  }
  allowance.instructions -= compileLinear(pattern).programSize + PATTERN_OVERHEAD;
}

const ONE = ["additionalProperties", "propertyNames", "items", "additionalItems", "contains", "not", "if", "then", "else", "unevaluatedItems", "unevaluatedProperties"];
const LIST = ["allOf", "anyOf", "oneOf", "prefixItems", "items"];
const MAP = ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"];

const isObject = (v: JsonValue | undefined): v is SchemaObject => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Refuses what would let a schema hold the event loop or escape the cost
 * bound: more keywords than the budget left (`keywords`), references other
 * than `#` or `#/pointer` within the schema, `$dynamicRef`, `$id` below the
 * root (it would change what `#/...` means), patterns RE2 cannot run, and
 * `$ref` loops that never descend into the value. Throws Error(message naming
 * the place, as a JSON Pointer in the schema). Draws its keywords and patterns
 * from `allowance`.
 */
export function checkSchema(schema: JsonValue, allowance: CompileAllowance, budget: number): void {
  const keywords = allowance.keywords;
  let count = 0;
  const visit = (s: JsonValue, path: string[]): void => {
    if (typeof s === "boolean") return;
    if (!isObject(s)) throw new Error(`${at(path)} must be a schema (an object or a boolean)`);
    count += Object.keys(s).length;
    if (count > keywords) throw new Error(`holds more than ${keywords} keywords; split it over several validators`);
    if ("$dynamicRef" in s || "$recursiveRef" in s) throw new Error(`${at(path)}: $dynamicRef and $recursiveRef are not supported`);
    if ("$id" in s && path.length > 0) throw new Error(`${at(path)}: $id is only allowed at the root`);
    if ("$ref" in s && !(typeof s.$ref === "string" && (s.$ref === "#" || s.$ref.startsWith("#/")))) {
      throw new Error(`${at(path)}: $ref must point inside this schema ("#" or "#/..."), not ${JSON.stringify(s.$ref)}`);
    }
    if (typeof s.pattern === "string") regex(s.pattern, [...path, "pattern"], allowance);
    for (const k of ONE) if (k in s && !Array.isArray(s[k])) visit(s[k]!, [...path, k]);
    for (const k of LIST) if (Array.isArray(s[k])) (s[k] as JsonValue[]).forEach((sub, i) => visit(sub, [...path, k, String(i)]));
    for (const k of MAP) {
      if (!isObject(s[k])) continue;
      for (const [name, sub] of Object.entries(s[k] as SchemaObject)) {
        if (k === "patternProperties") regex(name, [...path, k, name], allowance);
        if (!(k === "dependencies" && Array.isArray(sub))) visit(sub, [...path, k, name]);
      }
    }
  };
  visit(schema, []);
  allowance.keywords -= count;
  // Loops of $ref that stay on one value, and chains of them that multiply (a
  // schema no value could be checked against in budget), show on null already.
  try {
    new SchemaCost(schema).of(null, budget);
  } catch (e) {
    throw new Error(e instanceof OverBudget ? `costs ${e.message} to check even against null` : (e as Error).message);
  }
}

const at = (path: string[]): string => (path.length === 0 ? "the schema" : `at ${pointerOf(path)}`);

function regex(pattern: string, path: string[], allowance: CompileAllowance): void {
  try {
    spendPattern(pattern, allowance);
  } catch (e) {
    throw new Error(`${at(path)}: ${JSON.stringify(pattern)} is not a linear-time (RE2) regex: ${(e as Error).message}`);
  }
}
