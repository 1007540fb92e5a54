import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import picomatch from "picomatch";
import { RE2JS } from "re2js";
import { isDeepStrictEqual } from "node:util";
import type { JsonValue } from "../json.js";
import type { ValidationRule, Validator, Violation } from "./validator.js";

type Check = (v: JsonValue) => string | undefined;

export interface CompiledValidator {
  validator: Validator;
  matches: (key: string) => boolean;
  /** Violations of `value` (the request's `field`), each rule checked. */
  check: (value: JsonValue, field: string) => Violation[];
}

// One Ajv instance: compiled schemas are cached per validator definition below.
// `addUsedSchema: false`: a schema's `$id` is not registered on the shared
// instance, so the same definition can be compiled again (a new version of the
// validator, a reload from the log) without "schema with key or id already exists".
const ajv = new Ajv2020({ allErrors: true, strict: false, addUsedSchema: false });

const escape = (s: string): string => s.replace(/~/g, "~0").replace(/\//g, "~1");
const unescape = (s: string): string => s.replace(/~1/g, "/").replace(/~0/g, "~");

/** RFC 6901 lookup; undefined when the path does not exist. */
export function atPointer(value: JsonValue, pointer: string): JsonValue | undefined {
  if (pointer === "") return value;
  let cur: JsonValue | undefined = value;
  for (const raw of pointer.slice(1).split("/")) {
    const part = unescape(raw);
    if (Array.isArray(cur)) cur = /^(0|[1-9]\d*)$/.test(part) ? cur[Number(part)] : undefined;
    else if (cur !== null && typeof cur === "object") cur = Object.hasOwn(cur, part) ? cur[part] : undefined;
    else return undefined;
  }
  return cur;
}

const typeOf = (v: JsonValue): string => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

function compileRule(rule: ValidationRule): { check: Check; schema?: ValidateFunction } {
  switch (rule.kind) {
    case "type":
      return {
        check: (v) => {
          const ok = rule.type === "integer" ? Number.isInteger(v) : typeOf(v) === rule.type;
          return ok ? undefined : `must be of type ${rule.type}, not ${typeOf(v)}`;
        },
      };
    case "range":
      return {
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
      return { check: (v) => (rule.values.some((x) => isDeepStrictEqual(x, v)) ? undefined : message) };
    }
    case "regex": {
      const re = RE2JS.compile(rule.pattern);
      return { check: (v) => (typeof v !== "string" ? `must be a string to match /${rule.pattern}/` : re.test(v) ? undefined : `must match /${rule.pattern}/`) };
    }
    case "json_schema": {
      const fn = ajv.compile(rule.schema);
      return { check: () => undefined, schema: fn };
    }
  }
}

const cache = new WeakMap<Validator, CompiledValidator>();

/** Compiles once per definition object: definitions are immutable records. */
export function compileValidator(v: Validator): CompiledValidator {
  let c = cache.get(v);
  if (c !== undefined) return c;
  const rules = v.rules.map((r) => ({ rule: r, ...compileRule(r) }));
  const isMatch = picomatch(v.keys, { dot: true });
  c = {
    validator: v,
    matches: (key) => isMatch(key),
    check: (value, field) => {
      const out: Violation[] = [];
      rules.forEach(({ rule, check, schema }, i) => {
        const part = atPointer(value, rule.path);
        const base = { validator: v.name, field, rule: i };
        if (part === undefined) {
          out.push({ ...base, path: rule.path, message: "is missing" });
          return;
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

/** Throws the compiler's own words for a regex or schema that cannot be used. */
export function tryCompileRule(rule: ValidationRule): void {
  compileRule(rule);
}

export const pointerOf = (parts: string[]): string => parts.map((p) => `/${escape(p)}`).join("");
