import { RE2JS } from "re2js";
import { estimateProgramSize } from "./regex-size.js";

/**
 * RE2 runs in time linear in the input, but its constant grows with the
 * compiled program: a counted repeat of a Unicode class (`[\p{L}]{1,999}`)
 * compiles to ~2,000 instructions, costs up to 85 us an instruction to compile
 * and about 3 ns per instruction per character to run when the lazy DFA gives
 * up. Patterns above this size are refused, by an estimate before compiling
 * (regex-size.ts) and by the compiled size after, and a test's cost is bounded
 * by `length * programSize` (schema-cost.ts charges that).
 */
export const MAX_PROGRAM_SIZE = 1000;

/** A compiled pattern and what one test costs per input character (see schema-cost.ts). */
export interface LinearRegex {
  test(s: string): boolean;
  readonly programSize: number;
  /** The pattern: Ajv keys its compiled patterns by it, so two must never share one. */
  toString(): string;
}

// Definitions are recompiled on every load and write: patterns repeat. Cleared when
// full (a recompile is the only cost), so a client cannot grow it without bound.
const cache = new Map<string, LinearRegex>();
const CACHE_SIZE = 2_000;

/**
 * Compiles `pattern` on the linear-time engine (RE2 syntax: no backreferences,
 * no lookaround). Throws the engine's own words, or a size refusal; callers
 * turn either into INVALID_ARGUMENT naming their field.
 */
export function compileLinear(pattern: string): LinearRegex {
  const known = cache.get(pattern);
  if (known !== undefined) return known;
  const estimate = estimateProgramSize(pattern);
  if (estimate > MAX_PROGRAM_SIZE) throw new Error(`would compile to about ${estimate} instructions; the limit is ${MAX_PROGRAM_SIZE} (use smaller repeat counts)`);
  const compiled = RE2JS.compile(pattern);
  const programSize = compiled.programSize();
  if (programSize > MAX_PROGRAM_SIZE) {
    throw new Error(`compiles to ${programSize} instructions; the limit is ${MAX_PROGRAM_SIZE} (use smaller repeat counts)`);
  }
  const re: LinearRegex = { test: (s) => compiled.test(s), programSize, toString: () => pattern };
  if (cache.size >= CACHE_SIZE) cache.clear();
  cache.set(pattern, re);
  return re;
}
