import { monitorEventLoopDelay } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { CtmError } from "../errors.js";
import type { JsonValue } from "@ctm/core/json";
import { compileValidator } from "./compiled-validator.js";
import { WRITE_CHECK_BUDGET } from "./schema-cost.js";
import { checkValidator } from "./parse-validator.js";
import type { ValidationRule, Validator } from "./validator.js";

const validator = (rules: ValidationRule[], name = "v"): Validator => checkValidator({ name, keys: ["k"], rules, description: "" });
const schema = (s: { [key: string]: JsonValue }): ValidationRule => ({ path: "", kind: "json_schema", schema: s });

/**
 * Runs `f` and returns how long it held the event loop, in ms: the CPU time of
 * this process during the call (on a shared machine, the loop's wall-clock
 * delay also counts time the OS gave to other processes), and the longest
 * event-loop delay seen around it, for the record. The bound checked (100 ms)
 * is the daemon's promise, not a speed target: a backtracking engine or a
 * pairwise uniqueItems took seconds on the same inputs.
 */
async function loopHeldMs<T>(f: () => T): Promise<{ result: T; maxMs: number; loopDelayMs: number }> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  await new Promise((r) => setTimeout(r, 20));
  const before = process.cpuUsage();
  const result = f();
  const cpu = process.cpuUsage(before);
  await new Promise((r) => setTimeout(r, 20));
  h.disable();
  return { result, maxMs: (cpu.user + cpu.system) / 1000, loopDelayMs: h.max / 1e6 };
}

function refusal(f: () => unknown): CtmError {
  try {
    f();
  } catch (e) {
    if (e instanceof CtmError) return e;
    throw e;
  }
  throw new Error("expected a refusal");
}

describe("JSON Schema checks cannot freeze the event loop", () => {
  const REDOS = `${"a".repeat(29)}!`;

  it("pattern ^(a+)+$ on a 29-byte value runs on RE2 and answers the violation", async () => {
    const c = compileValidator(validator([schema({ type: "string", pattern: "^(a+)+$" })]));
    const { result, maxMs } = await loopHeldMs(() => c.check(REDOS, "value"));
    expect(result).toEqual([{ validator: "v", field: "value", path: "", rule: 0, message: 'must match pattern "^(a+)+$"' }]);
    expect(maxMs).toBeLessThan(100);
    expect(c.check("aaaa", "value")).toEqual([]);
  });

  it("patternProperties ^(a+)+$ on a 29-byte member name runs on RE2", async () => {
    const c = compileValidator(validator([schema({ type: "object", patternProperties: { "^(a+)+$": { type: "string" } } })]));
    const { result, maxMs } = await loopHeldMs(() => c.check({ [REDOS]: 1, aaa: 2 }, "value"));
    expect(result).toEqual([{ validator: "v", field: "value", path: "/aaa", rule: 0, message: "must be string" }]);
    expect(maxMs).toBeLessThan(100);
  });

  it("uniqueItems on 20,000 numbers is linear (Ajv compared every pair: about 20 s)", async () => {
    const c = compileValidator(validator([schema({ type: "array", uniqueItems: true })]));
    const numbers = Array.from({ length: 20_000 }, (_, i) => i);
    const distinct = await loopHeldMs(() => c.check(numbers, "value"));
    expect(distinct.result).toEqual([]);
    expect(distinct.maxMs).toBeLessThan(100);
    const dup = await loopHeldMs(() => c.check([...numbers, 7, "7"], "value"));
    expect(dup.result).toEqual([{ validator: "v", field: "value", path: "", rule: 0, message: "must NOT have duplicate items (items ## 7 and 20000 are identical)" }]);
    expect(dup.maxMs).toBeLessThan(100);
    expect(c.check([1, "1", [1], "[1]", { a: 1 }, '{"a":1}', null, "null"], "value")).toEqual([]);
  });

  it("uniqueItems on objects is linear: reads of the items grow with their number, not their pairs; the duplicate is found, its indices named", () => {
    const c = compileValidator(validator([schema({ type: "array", uniqueItems: true })]));
    const items = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i, tags: ["x", i % 7] }));
    // Counted, not timed: every read of an item's members goes through a proxy. Comparing every
    // pair (Ajv's own uniqueItems) reads each item once per other item, so four times the items
    // make sixteen times the reads; a linear check makes four.
    const reads = (n: number): number => {
      let count = 0;
      const handler: ProxyHandler<object> = {
        get: (t, k, r) => (count++, Reflect.get(t, k, r)),
        ownKeys: (t) => (count++, Reflect.ownKeys(t)),
      };
      const value = items(n).map((item) => new Proxy(item, handler)) as unknown as JsonValue[];
      expect(c.check(value, "value")).toEqual([]);
      return count;
    };
    const small = reads(1_000);
    expect(small).toBeGreaterThan(1_000);
    expect(reads(4_000)).toBeLessThan(6 * small);
    // Members in another order are the same JSON value.
    const all = items(20_000);
    expect(c.check([...all, { tags: ["x", 19_998 % 7], id: 19_998 }], "value")).toEqual([
      { validator: "v", field: "value", path: "", rule: 0, message: "must NOT have duplicate items (items ## 19998 and 20000 are identical)" },
    ]);
  });

  it("a value whose checks would cost more than a write's budget is refused before Ajv runs, naming the field", async () => {
    // 140 conditions on every item of 60,000: about 8 million checks.
    const c = compileValidator(validator([schema({ type: "array", items: { allOf: Array.from({ length: 140 }, (_, i) => ({ minimum: -i })) } })]));
    const { result, maxMs } = await loopHeldMs(() => refusal(() => c.check(Array.from({ length: 60_000 }, (_, i) => i), "rollout.stable")));
    expect(result.code).toBe("invalid_argument");
    expect(result.field).toBe("rollout.stable");
    expect(result.message).toMatch(/^rollout\.stable: is too big to check against validator "v" \(rule 0\) within what one write may spend/);
    expect(maxMs).toBeLessThan(100);
    // The same schema on a value of ordinary size is checked.
    expect(c.check([1, 2, -0.5], "value")).toEqual([{ validator: "v", field: "value", path: "/2", rule: 0, message: "must be >= 0" }]);
  });

  it("validators covering one key share the budget of the write", () => {
    // About 3 million units each: one fits in a write's budget, two do not.
    const rules = [schema({ type: "array", items: { allOf: Array.from({ length: 30 }, () => ({ type: "integer" })) } })];
    const a = compileValidator(validator(rules, "a"));
    const b = compileValidator(validator(rules, "b"));
    const value = Array.from({ length: 50_000 }, (_, i) => i);
    const budget = { left: WRITE_CHECK_BUDGET };
    expect(a.check(value, "value", budget)).toEqual([]);
    expect(refusal(() => b.check(value, "value", budget)).message).toContain('validator "b"');
  });
});

describe("schemas ctm refuses when a validator is written", () => {
  const refused = (s: { [key: string]: JsonValue }) => refusal(() => validator([{ path: "", kind: "type", type: "string" }, schema(s)]));

  it.each([
    ["a backreference", { pattern: "^(a)\\1$" }, /at \/pattern: "\^\(a\)\\\\1\$" is not a linear-time \(RE2\) regex: .*invalid escape sequence/],
    ["a lookahead in patternProperties", { patternProperties: { "^(?=x)": {} } }, /at \/patternProperties\/\^\(\?=x\): .* is not a linear-time \(RE2\) regex: .*unsupported Perl syntax/],
    ["a nested lookbehind", { properties: { a: { items: { pattern: "(?<=a)b" } } } }, /at \/properties\/a\/items\/pattern/],
    ["a pattern RE2 compiles to too many instructions", { pattern: "[\\p{L}\\p{N}]{1,999}" }, /instructions; the limit is 1000/],
    ["a $ref that loops on one value", { anyOf: [{ $ref: "#" }] }, /a \$ref loops without descending/],
    ["$refs that multiply", chainOfRefs(40), /costs more than 5000000 units to check even against null/],
    ["a $ref outside the schema", { $ref: "https://example.com/s.json" }, /\$ref must point inside this schema/],
    ["$dynamicRef", { $dynamicRef: "#x" }, /\$dynamicRef and \$recursiveRef are not supported/],
    ["$id below the root", { properties: { a: { $id: "https://example.com/a" } } }, /\$id is only allowed at the root/],
    ["more keywords than a validator may hold", { properties: Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`p${i}`, { type: "string", minLength: 1 }])) }, /holds more than 150 keywords/],
  ])("%s", (_name, s, message) => {
    const e = refused(s as { [key: string]: JsonValue });
    expect(e.code).toBe("invalid_argument");
    expect(e.field).toBe("validator.rules[1].json_schema");
    expect(e.message).toMatch(/^validator\.rules\[1\]\.json_schema: is not a valid JSON Schema \(draft 2020-12\) within ctm's limits: /);
    expect(e.message).toMatch(message);
  });

  it("a recursive schema that descends into the value is accepted and checked", () => {
    const tree = { type: "object", properties: { name: { type: "string" }, children: { type: "array", items: { $ref: "#" } } }, required: ["name"] };
    const c = compileValidator(validator([schema(tree)]));
    expect(c.check({ name: "a", children: [{ name: "b", children: [{ children: [] }] }] }, "value")).toEqual([
      { validator: "v", field: "value", path: "/children/0/children/0", rule: 0, message: "must have required property 'name'" },
    ]);
  });
});

/** Each level refers twice to the one below: 2^n paths through a schema of n levels. */
function chainOfRefs(n: number): { [key: string]: JsonValue } {
  const defs: { [key: string]: JsonValue } = { d0: { type: "null" } };
  for (let i = 1; i <= n; i++) defs[`d${i}`] = { anyOf: [{ $ref: `#/$defs/d${i - 1}` }, { $ref: `#/$defs/d${i - 1}` }] };
  return { $defs: defs, $ref: `#/$defs/d${n}` };
}

describe("patterns are bounded before RE2 compiles them", () => {
  const regex = (pattern: string): ValidationRule => ({ path: "", kind: "regex", pattern });

  it("a short pattern that would compile to thousands of instructions is refused without compiling it", () => {
    // Three counted repeats of a Unicode class: about 6,000 instructions, half a second to compile.
    const before = process.cpuUsage();
    const e = refusal(() => validator([regex("[\\p{L}\\p{N}]{1,999}".repeat(3))]));
    const cpu = process.cpuUsage(before);
    expect(e.field).toBe("validator.rules[0].regex");
    expect(e.message).toMatch(/is not a linear-time \(RE2\) regex: would compile to about 5993 instructions/);
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(100);
  });

  it("all the patterns of one validator share one allowance", () => {
    const big = "[a-z]{1,200}"; // about 400 instructions
    expect(() => validator([regex(big), regex(big)])).not.toThrow();
    const e = refusal(() => validator([regex(big), regex(big), schema({ patternProperties: { [big]: {} } })]));
    expect(e.field).toBe("validator.rules[2].json_schema");
    expect(e.message).toMatch(/at \/patternProperties\/.*more than the \d+ left of the 1000 all patterns of one validator may use/);
  });
});

describe("a validator at every limit at once", () => {
  it("compiles within 100 ms of CPU, and checks a 230 KB value within 100 ms", () => {
    // 149 keywords: 49 properties of 3 keywords each, and 2; 37 patterns worth about 1,000 RE2 instructions.
    const properties = Object.fromEntries(
      Array.from({ length: 49 }, (_, i): [string, JsonValue] => [`p${i}`, i < 36 ? { type: "string", maxLength: 64, pattern: `^v${i}[a-z]*$` } : { type: "string", maxLength: 64, minLength: 1 }]),
    );
    const rules: ValidationRule[] = [schema({ type: "object", properties }), { path: "/p0", kind: "regex", pattern: "[a-z0-9]{1,100}" }];
    // The process's first schema costs Ajv and RE2 about 60 ms of JIT compilation, once.
    compileValidator(validator([schema({ type: "string", pattern: "^x" })], "warm-up"));
    let before = process.cpuUsage();
    const c = compileValidator(validator(rules));
    let cpu = process.cpuUsage(before);
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(100);
    const value = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`p${i}`, `v${i}${"x".repeat(60)}`]));
    Object.assign(value, Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`extra${i}`, "y".repeat(70)])));
    before = process.cpuUsage();
    const out = c.check(value, "value");
    cpu = process.cpuUsage(before);
    expect(out).toEqual([]);
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(100);
  });
});

describe("compiled schemas", () => {
  it("do not pile up: distinct schemas compiled one after another keep the heap bounded", async () => {
    const v8 = await import("node:v8");
    const vm = await import("node:vm");
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    let n = 0;
    const compileMany = (count: number) => {
      for (let i = 0; i < count; i++, n++) {
        compileValidator(validator([schema({ type: "object", properties: { [`p${n}`]: { type: "string", pattern: `^a${n}$` } } })]));
      }
    };
    compileMany(1_000);
    gc();
    const before = process.memoryUsage().heapUsed;
    compileMany(6_000);
    gc();
    const grown = (process.memoryUsage().heapUsed - before) / 2 ** 20;
    // Ajv's code scope keeps every pattern and function an instance compiled: ~10 KiB a
    // schema, so 6,000 would add ~60 MiB if the instance were never replaced.
    expect(grown).toBeLessThan(20);
  });
});
