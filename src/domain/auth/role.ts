import { invalidArgument } from "../errors.js";
import type { JsonValue } from "@ctm/core/json";
import { checkGlob } from "../validation/key-glob.js";
import { documentChecker } from "../validation/document-checker.js";
import { NAME_PATTERN } from "../validation/validator.js";

/**
 * What a grant allows. `read`: Get, History, Diff, Blame, GetAt, Snapshot, Watch, rollout
 * Status and Explain, access-log queries. `write`: Set, Delete, Apply, Rollback,
 * RollbackPrefix. `rollout`: Pause, Resume, Promote, Kill, Abort. `report`: ReportMetrics,
 * UploadAccessLog. `admin`: validators, health checks, roles, tokens, verification, and every
 * key under `_ctm/`. `approve` and `break_glass` are for change requests.
 */
export const VERBS = ["read", "write", "rollout", "report", "admin", "approve", "break_glass"] as const;
export type Verb = (typeof VERBS)[number];

export interface Grant {
  verbs: Verb[];
  /** Key globs: `*` within a segment, `**` across segments. */
  keys: string[];
  /** The environments (rings) it covers; absent: every environment. */
  environments?: string[];
}

export interface Role {
  name: string;
  grants: Grant[];
  /** Principals bound to the role besides the tokens that name it: `cert:<subject>` for mTLS clients. */
  members: string[];
  description: string;
}

export const ROLE_PREFIX = "_ctm/auth/roles/";
export const TOKEN_PREFIX = "_ctm/auth/tokens/";

/** Every verb on every key in every environment. Built in, so it can never be edited away. */
export const ADMIN_ROLE: Role = { name: "admin", grants: [{ verbs: [...VERBS], keys: ["**"] }], members: [], description: "everything (built in)" };

const strings = (max: number, maxLength: number) => ({ type: "array", maxItems: max, items: { type: "string", minLength: 1, maxLength } });

/** A role as stored under `_ctm/auth/roles/<name>`; unknown members are refused. */
const checkRoleDocument = documentChecker({
  type: "object",
  properties: {
    grants: {
      type: "array",
      minItems: 1,
      maxItems: 100,
      items: {
        type: "object",
        properties: {
          verbs: { type: "array", minItems: 1, maxItems: VERBS.length, items: { enum: [...VERBS] } },
          keys: { ...strings(100, 256), minItems: 1 },
          environments: { ...strings(100, 128), minItems: 1 },
        },
        required: ["verbs", "keys"],
        additionalProperties: false,
      },
    },
    members: strings(1000, 512),
    description: { type: "string", maxLength: 4096 },
  },
  required: ["grants"],
  additionalProperties: false,
});

export function checkRoleName(name: string, field: string): string {
  if (!NAME_PATTERN.test(name)) throw invalidArgument(field, "must be 1-128 letters, digits, . _ or -, starting with a letter or digit");
  if (name === ADMIN_ROLE.name) throw invalidArgument(field, `"${ADMIN_ROLE.name}" is built in and cannot be redefined`);
  return name;
}

/** Reads a stored (or about to be stored) role document; INVALID_ARGUMENT names the bad member under `field`. */
export function roleFromJson(name: string, doc: JsonValue | undefined, field = "value"): Role {
  checkRoleDocument(doc ?? null, field);
  const d = doc as unknown as { grants: Grant[]; members?: string[]; description?: string };
  d.grants.forEach((g, i) => g.keys.forEach((k, j) => checkGlob(k, `${field}.grants[${i}].keys[${j}]`)));
  return {
    name,
    grants: d.grants.map((g) => ({ verbs: [...g.verbs], keys: [...g.keys], ...(g.environments ? { environments: [...g.environments] } : {}) })),
    members: [...(d.members ?? [])],
    description: d.description ?? "",
  };
}

export function roleToJson(r: Role): JsonValue {
  return {
    grants: r.grants.map((g) => ({ verbs: g.verbs, keys: g.keys, ...(g.environments ? { environments: g.environments } : {}) })),
    ...(r.members.length > 0 ? { members: r.members } : {}),
    ...(r.description ? { description: r.description } : {}),
  };
}
