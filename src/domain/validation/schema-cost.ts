import type { JsonValue } from "@ctm/core/json";
import { atPointer } from "./json-pointer.js";
import { compileLinear } from "@ctm/core/validation/linear-regex";

type Schema = JsonValue;
type SchemaObject = { [key: string]: JsonValue };

/** Thrown when checking a value would cost more than the budget given. */
export class OverBudget extends Error {}

/**
 * What one write may spend checking its values against every validator that
 * covers its key, in the units below: about 20 ms of checks at most, so that
 * with the estimate itself a write stays under the 100 ms the daemon allows any
 * one request (measured in compiled-validator.test.ts).
 */
export const WRITE_CHECK_BUDGET = 5_000_000;

/** Units left to the write being checked; every rule of every validator draws from it. */
export interface WorkBudget {
  left: number;
}

const isObject = (v: JsonValue | undefined): v is SchemaObject => v !== null && typeof v === "object" && !Array.isArray(v);
const SAME_DATA_ONE = ["not", "if", "then", "else"];
const SAME_DATA_LIST = ["allOf", "anyOf", "oneOf"];
const SAME_DATA_MAP = ["dependentSchemas", "dependencies"];
const EACH_ITEM = ["items", "additionalItems", "contains", "unevaluatedItems"];

/**
 * An upper bound of the work (in units of about 4 ns of Ajv's generated code)
 * that checking a value against a JSON Schema takes, found without running a
 * single check: it follows the schema down the value as Ajv would, but takes
 * every branch (both `then` and `else`, every `anyOf`, every pattern as
 * matching every key), so the bound holds whatever the checks answer. A value
 * whose bound is over the budget is refused before Ajv runs; a schema that
 * loops on one value (`$ref` cycles that do not descend) is over any budget.
 *
 * Costs of a primitive depend only on its type and length, so they are
 * computed once per schema node (a + b * length): an array of 100,000 numbers
 * costs one lookup per item here.
 */
export class SchemaCost {
  private readonly linearCosts = new WeakMap<SchemaObject, Map<string, [number, number]>>();
  private spent = 0;
  private limit = 0;

  constructor(private readonly root: Schema) {}

  of(data: JsonValue, limit: number): number {
    this.spent = 0;
    this.limit = limit;
    this.walk(this.root, data);
    return this.spent;
  }

  private spend(n: number): void {
    this.spent += n;
    if (this.spent > this.limit) throw new OverBudget(`more than ${this.limit} units`);
  }

  /** `active`: the schema nodes applied to `d` on the way here (a repeat is a loop). */
  private walk(s: Schema, d: JsonValue, active = new Set<SchemaObject>()): void {
    if (!isObject(s)) return this.spend(1);
    if (d === null || typeof d !== "object") {
      const [a, b] = this.linear(s, typeof d, new Set());
      return this.spend(a + (typeof d === "string" ? b * d.length : 0));
    }
    if (active.has(s)) throw new OverBudget("without end: a $ref loops without descending into the value");
    active.add(s);
    this.spend(1 + Object.keys(s).length);
    for (const sub of this.sameData(s)) this.walk(sub, d, active);
    active.delete(s);
    if ("enum" in s || "const" in s) this.spend(this.size(d) * (Array.isArray(s.enum) ? s.enum.length : 1));
    if (Array.isArray(d)) this.walkArray(s, d);
    else this.walkObject(s, d);
  }

  private walkArray(s: SchemaObject, d: JsonValue[]): void {
    // A hash of each item and a Map: a few units a node.
    if (s.uniqueItems === true) this.spend(4 * this.size(d));
    const prefix = Array.isArray(s.prefixItems) ? s.prefixItems : Array.isArray(s.items) ? s.items : [];
    const each = EACH_ITEM.map((k) => s[k]).filter((x) => x !== undefined && !Array.isArray(x)) as Schema[];
    for (let i = 0; i < d.length; i++) {
      if (i < prefix.length) this.walk(prefix[i]!, d[i]!);
      for (const sub of each) this.walk(sub, d[i]!);
    }
  }

  private walkObject(s: SchemaObject, d: { [key: string]: JsonValue }): void {
    const keys = Object.keys(d);
    this.spend(keys.length + (Array.isArray(s.required) ? s.required.length : 0));
    if (isObject(s.properties)) {
      this.spend(Object.keys(s.properties).length);
      for (const [k, sub] of Object.entries(s.properties)) if (Object.hasOwn(d, k)) this.walk(sub, d[k]!);
    }
    const patterns = isObject(s.patternProperties) ? Object.entries(s.patternProperties) : [];
    for (const k of keys) {
      for (const [p, sub] of patterns) {
        this.spend(compileLinear(p).programSize * (k.length + 1));
        this.walk(sub, d[k]!);
      }
      for (const x of ["additionalProperties", "unevaluatedProperties"]) if (x in s) this.walk(s[x]!, d[k]!);
      if ("propertyNames" in s) this.walk(s.propertyNames!, k);
    }
  }

  /** Cost of a primitive of `type`: a + b * its length, computed once per schema node. */
  private linear(s: Schema, type: string, visiting: Set<SchemaObject>): [number, number] {
    if (!isObject(s)) return [1, 0];
    const known = this.linearCosts.get(s)?.get(type);
    if (known) return known;
    if (visiting.has(s)) throw new OverBudget("without end: a $ref loops without descending into the value");
    visiting.add(s);
    let a = 1 + Object.keys(s).length + (Array.isArray(s.enum) ? s.enum.length : 0);
    let b = "minLength" in s || "maxLength" in s || "enum" in s || "const" in s ? 1 : 0;
    if (typeof s.pattern === "string") b += compileLinear(s.pattern).programSize;
    for (const sub of this.sameData(s)) {
      const [a2, b2] = this.linear(sub, type, visiting);
      a += a2;
      b += b2;
    }
    visiting.delete(s);
    let byType = this.linearCosts.get(s);
    if (!byType) this.linearCosts.set(s, (byType = new Map()));
    byType.set(type, [a, b]);
    return [a, b];
  }

  /** Subschemas applied to the same value: combinators, conditionals and `$ref`. */
  private sameData(s: SchemaObject): Schema[] {
    const out: Schema[] = [];
    for (const k of SAME_DATA_ONE) if (k in s) out.push(s[k]!);
    for (const k of SAME_DATA_LIST) if (Array.isArray(s[k])) out.push(...(s[k] as Schema[]));
    for (const k of SAME_DATA_MAP) if (isObject(s[k])) out.push(...Object.values(s[k] as SchemaObject).filter((x) => !Array.isArray(x)));
    if (typeof s.$ref === "string") out.push(this.resolve(s.$ref));
    return out;
  }

  /** Only `#` and `#/pointer` references exist here (checkSchema refuses the rest). */
  private resolve(ref: string): Schema {
    const target = ref === "#" ? this.root : atPointer(this.root, decodeURIComponent(ref.slice(1)));
    return target ?? true;
  }

  /** Roughly the work of walking or serializing `d` once (uniqueItems, enum, const); it is charged, so it is bounded too. */
  private size(d: JsonValue): number {
    if (d === null || typeof d !== "object") return typeof d === "string" ? 1 + (d.length >> 3) : 1;
    let n = 1;
    for (const v of Array.isArray(d) ? d : Object.values(d)) n += this.size(v);
    return n;
  }
}
