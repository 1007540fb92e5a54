import { permissionDenied, type CtmError } from "../errors.js";
import { globMatcher } from "../validation/key-glob.js";
import { RESERVED_PREFIX } from "../validation/validator.js";
import type { Grant, Role, Verb } from "./role.js";

/**
 * What one call asks to do: a verb over keys, or over everything under a prefix, in some
 * environments. `environments: "all"` is a write that serves its value everywhere (no rings);
 * undefined: the call serves nothing new (a read, a pause), so environments do not matter.
 */
export interface Access {
  verb: Verb;
  keys?: readonly string[];
  prefix?: string;
  environments?: readonly string[] | "all";
}

/** A grant turned into predicates once, when its role is loaded. */
export interface CompiledGrant {
  grant: Grant;
  matches: (key: string) => boolean;
  /** True when every key that starts with the prefix matches. */
  covers: (prefix: string) => boolean;
}

export function compileGrant(grant: Grant): CompiledGrant {
  // `H**` with H empty or ending in "/": every key whose start matches H is covered, so a
  // prefix is covered when a part of it that ends in "/" matches some H (H may hold `*`).
  const heads = grant.keys.filter((k) => k === "**" || k.endsWith("/**")).map((k) => k.slice(0, -2));
  const matchesHead = heads.length > 0 ? globMatcher(heads.filter((h) => h !== "")) : () => false;
  const everything = heads.includes("");
  return {
    grant,
    matches: globMatcher(grant.keys),
    covers: (prefix) => {
      if (everything) return true;
      for (let end = prefix.indexOf("/"); end >= 0; end = prefix.indexOf("/", end + 1)) {
        if (matchesHead(prefix.slice(0, end + 1))) return true;
      }
      return false;
    },
  };
}

/** The grants of a principal's roles, compiled. */
export type Grants = readonly CompiledGrant[];

export const compileRole = (r: Role): CompiledGrant[] => r.grants.map(compileGrant);

const envAllowed = (g: Grant, want: Access["environments"]): boolean =>
  want === undefined || g.environments === undefined || (want !== "all" && want.every((e) => g.environments!.includes(e)));

/** `_ctm/` documents need `admin` whatever the verb asked for: they define who may do what. */
const verbFor = (verb: Verb, key: string): Verb => (key.startsWith(RESERVED_PREFIX) ? "admin" : verb);

/**
 * Undefined when `grants` allow `access`, else PERMISSION_DENIED naming the verb and the key
 * or prefix refused (and the environments, when they were the reason). Every key of a
 * multi-key call must be allowed; a prefix must be covered as a whole.
 */
export function authorize(who: string, grants: Grants, access: Access): CtmError | undefined {
  const { verb, environments } = access;
  const allowed = (v: Verb, test: (g: CompiledGrant) => boolean) => grants.some((g) => g.grant.verbs.includes(v) && test(g));
  for (const key of access.keys ?? []) {
    const v = verbFor(verb, key);
    if (allowed(v, (g) => g.matches(key) && envAllowed(g.grant, environments))) continue;
    return denied(who, v, `key "${key}"`, allowed(v, (g) => g.matches(key)) ? environments : undefined);
  }
  if (access.prefix !== undefined) {
    const p = access.prefix;
    // A prefix that reaches into `_ctm/` (the empty one does) needs admin there too.
    const reserved = RESERVED_PREFIX.startsWith(p) || p.startsWith(RESERVED_PREFIX);
    for (const v of reserved && verb !== "admin" ? [verb, "admin" as const] : [verb]) {
      const scope = v === "admin" && reserved && verb !== "admin" ? RESERVED_PREFIX : p;
      if (!allowed(v, (g) => g.covers(scope) && envAllowed(g.grant, environments))) {
        return denied(who, v, `prefix "${scope}"`, allowed(v, (g) => g.covers(scope)) ? environments : undefined);
      }
    }
  }
  return undefined;
}

function denied(who: string, verb: Verb, what: string, environments: Access["environments"]): CtmError {
  const where = environments === undefined ? "" : environments === "all" ? " in every environment (a value served without rings)" : ` in ${environments.join(", ")}`;
  return permissionDenied(`${who} may not ${verb} ${what}${where}`);
}
