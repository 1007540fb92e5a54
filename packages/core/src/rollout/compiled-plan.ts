import semver from "semver";
import { bucket, pickVariant } from "../bucketing.js";
import type { Rollout, Rule } from "./plan.js";
import { compileLinear, type LinearRegex } from "../validation/linear-regex.js";

/** A rule turned into a predicate once, not per evaluation; a semver rule tells how many answers it holds. */
export type RuleTest = ((unitId: string, attributes: Readonly<Record<string, string>>) => boolean) & { readonly cachedAnswers?: () => number };

/**
 * What a plan decides from the unit id alone: the first unit-id rule that
 * matches (-1: none), the bucket, and the variant (-1: none; undefined until
 * first needed). Attributes and time are never part of it.
 */
export interface UnitFacts {
  unitRule: number;
  bucket: number;
  variant: number | undefined;
}

export interface CompiledPlan {
  earlyAdopters: ReadonlySet<string>;
  pinned: ReadonlyMap<string, string>;
  rules: readonly { rule: Rule; test: RuleTest; byUnit: boolean }[];
  /** The unit's facts, remembered per plan (bounded): the same users come back request after request. */
  facts(unitId: string): UnitFacts;
  /** Units whose facts are remembered now (at most UNIT_FACTS_PER_PLAN). */
  readonly cachedUnits: number;
  /** Index of the unit's variant, or -1. */
  variantOf(unitId: string, f: UnitFacts): number;
}

/** Units whose facts a plan remembers; past this it starts over (a cache, never a result). */
export const UNIT_FACTS_PER_PLAN = 16_384;
/**
 * Longer unit ids and attribute values are answered but never remembered: a cache keyed by
 * client input holds count x length, and a request may carry a 2 MiB id. With this cap a
 * plan's facts hold at most about 16,384 x (128 + ~100) bytes, ~3.6 MiB, whatever clients send.
 */
export const MAX_CACHED_CHARS = 128;

// Plans are immutable, so compiling each once per record object is safe and keeps Get cheap.
const cache = new WeakMap<Rollout, CompiledPlan>();

export function compiled(r: Rollout): CompiledPlan {
  let c = cache.get(r);
  if (c === undefined) {
    const { salt, variants } = r.plan;
    const rules = r.plan.rules.map((rule) => ({ rule, test: compileRule(rule), byUnit: "unitIdRegex" in rule }));
    const known = new Map<string, UnitFacts>();
    c = {
      earlyAdopters: new Set(r.plan.earlyAdopters),
      pinned: new Map(r.plan.pinned.map((p) => [p.unitId, p.serve])),
      rules,
      facts(unitId) {
        let f = known.get(unitId);
        if (f === undefined) {
          const unitRule = rules.findIndex((x) => x.byUnit && x.test(unitId, NO_ATTRIBUTES));
          f = { unitRule, bucket: bucket(salt, unitId), variant: undefined };
          if (unitId.length > MAX_CACHED_CHARS) return f;
          if (known.size >= UNIT_FACTS_PER_PLAN) known.clear();
          known.set(unitId, f);
        }
        return f;
      },
      get cachedUnits() {
        return known.size;
      },
      variantOf(unitId, f) {
        if (f.variant === undefined) {
          const v = pickVariant(salt, unitId, variants);
          f.variant = v === undefined ? -1 : variants.indexOf(v);
        }
        return f.variant;
      },
    };
    cache.set(r, c);
  }
  return c;
}

const NO_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze({});

/** RE2 semantics: linear time, no backreferences or lookaround; a match anywhere counts (anchor with ^ and $). */
export const compileRegex = (pattern: string): LinearRegex => compileLinear(pattern);

// Version attributes repeat (a fleet runs a handful of app versions): parse each string once.
// Bounded in count and, through MAX_CACHED_CHARS, in size (~10,000 x 230 bytes, ~2.2 MiB):
// when full it is cleared, which costs a re-parse, never correctness.
const versions = new Map<string, semver.SemVer | null>();
const VERSION_CACHE = 10_000;
/** Version strings a rule remembers its answer for: a fleet reports few; past this it starts over. */
export const ANSWERS_PER_RULE = 256;

/** Strings held by the shared version cache now (for tests of its bound). */
export const cachedVersions = (): number => versions.size;

function parseVersion(v: string): semver.SemVer | null {
  let parsed = versions.get(v);
  if (parsed === undefined) {
    parsed = semver.parse(v);
    if (v.length > MAX_CACHED_CHARS) return parsed;
    if (versions.size >= VERSION_CACHE) versions.clear();
    versions.set(v, parsed);
  }
  return parsed;
}

export function compileRule(rule: Rule): RuleTest {
  if ("unitIdRegex" in rule) {
    const re = compileRegex(rule.unitIdRegex);
    return (unitId) => re.test(unitId);
  }
  const { attribute, op, values } = rule;
  const set = new Set(values);
  const want = values[0] ?? "";
  // Attribute values are strings; anything else (an inherited `constructor`, say) is absent.
  const get = (attrs: Readonly<Record<string, string>>): string | undefined => {
    const v: unknown = attrs[attribute];
    return typeof v === "string" ? v : undefined;
  };
  // Plans are checked before they are stored, so a semver rule's operand parses.
  const wantVersion = op.startsWith("semver_") ? new semver.SemVer(want) : undefined;
  // compare() of the attribute's version with the rule's, or undefined when it is absent or not a
  // version. A fleet reports few versions, so each rule remembers its answer per version string
  // (NaN: not a version), at most ANSWERS_PER_RULE short strings: rules x plans multiply it.
  const answers = new Map<string, number>();
  const cmp = (attrs: Readonly<Record<string, string>>): number | undefined => {
    const v = get(attrs);
    if (v === undefined) return undefined;
    let c = answers.get(v);
    if (c === undefined) {
      const parsed = parseVersion(v);
      c = parsed === null ? NaN : parsed.compare(wantVersion!);
      if (v.length <= MAX_CACHED_CHARS) {
        if (answers.size >= ANSWERS_PER_RULE) answers.clear();
        answers.set(v, c);
      }
    }
    return Number.isNaN(c) ? undefined : c;
  };
  const sized = (f: RuleTest): RuleTest => Object.assign(f, { cachedAnswers: () => answers.size });
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
      return sized((_u, a) => cmp(a) === 0);
    case "semver_gt":
      return sized((_u, a) => (cmp(a) ?? -1) > 0);
    case "semver_gte":
      return sized((_u, a) => (cmp(a) ?? -1) >= 0);
    case "semver_lt":
      return sized((_u, a) => (cmp(a) ?? 1) < 0);
    case "semver_lte":
      return sized((_u, a) => (cmp(a) ?? 1) <= 0);
  }
}
