import { RE2JS } from "re2js";
import semver from "semver";
import type { Rollout, Rule } from "./plan.js";

/** A rule turned into a predicate once, not per evaluation. */
export type RuleTest = (unitId: string, attributes: Readonly<Record<string, string>>) => boolean;

export interface CompiledPlan {
  earlyAdopters: ReadonlySet<string>;
  pinned: ReadonlyMap<string, string>;
  rules: readonly { rule: Rule; test: RuleTest }[];
}

// Plans are immutable, so compiling each once per record object is safe and keeps Get cheap.
const cache = new WeakMap<Rollout, CompiledPlan>();

export function compiled(r: Rollout): CompiledPlan {
  let c = cache.get(r);
  if (c === undefined) {
    c = {
      earlyAdopters: new Set(r.plan.earlyAdopters),
      pinned: new Map(r.plan.pinned.map((p) => [p.unitId, p.serve])),
      rules: r.plan.rules.map((rule) => ({ rule, test: compileRule(rule) })),
    };
    cache.set(r, c);
  }
  return c;
}

/** RE2 semantics: linear time, no backreferences or lookaround; a match anywhere counts (anchor with ^ and $). */
export const compileRegex = (pattern: string): RE2JS => RE2JS.compile(pattern);

export function compileRule(rule: Rule): RuleTest {
  if ("unitIdRegex" in rule) {
    const re = compileRegex(rule.unitIdRegex);
    return (unitId) => re.test(unitId);
  }
  const { attribute, op, values } = rule;
  const set = new Set(values);
  const want = values[0] ?? "";
  const get = (attrs: Readonly<Record<string, string>>): string | undefined =>
    Object.hasOwn(attrs, attribute) ? attrs[attribute] : undefined;
  const cmp = (attrs: Readonly<Record<string, string>>, f: (v: string) => boolean): boolean => {
    const v = get(attrs);
    return v !== undefined && semver.valid(v) !== null && f(v);
  };
  switch (op) {
    case "equals":
      return (_u, a) => get(a) === want;
    case "not_equals":
      return (_u, a) => get(a) !== want;
    // An absent attribute is in no list, even one that holds a sentinel-looking string.
    case "in":
      return (_u, a) => {
        const v = get(a);
        return v !== undefined && set.has(v);
      };
    case "not_in":
      return (_u, a) => {
        const v = get(a);
        return v === undefined || !set.has(v);
      };
    case "semver_eq":
      return (_u, a) => cmp(a, (v) => semver.eq(v, want));
    case "semver_gt":
      return (_u, a) => cmp(a, (v) => semver.gt(v, want));
    case "semver_gte":
      return (_u, a) => cmp(a, (v) => semver.gte(v, want));
    case "semver_lt":
      return (_u, a) => cmp(a, (v) => semver.lt(v, want));
    case "semver_lte":
      return (_u, a) => cmp(a, (v) => semver.lte(v, want));
  }
}
