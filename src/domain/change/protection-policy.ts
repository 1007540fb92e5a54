import { failedPrecondition, type CtmError } from "../errors.js";
import type { JsonValue } from "@ctm/core/json";
import type { Draft, RecordKind } from "@ctm/core/record";
import { documentChecker } from "../validation/document-checker.js";
import { checkGlob, globMatcher } from "../validation/key-glob.js";

/** `_ctm/policies/<name>`: keys whose changes go through a reviewed change request. */
export const POLICY_PREFIX = "_ctm/policies/";

/**
 * The emergency actions a policy may leave direct. By default restoring is never blocked by a
 * review: a rollback, and killing or aborting a rollout, write at once.
 */
export const DIRECT_ACTIONS = ["rollback", "kill", "abort", "pause", "resume", "promote"] as const;
export type DirectAction = (typeof DIRECT_ACTIONS)[number];
export const DEFAULT_DIRECT: readonly DirectAction[] = ["rollback", "kill", "abort"];

export interface ProtectionPolicy {
  readonly name: string;
  readonly keys: readonly string[];
  /**
   * The environments (rings) it protects; absent: all. A write is covered when it may serve in
   * one of them, as authorization counts it: a value without rings is served everywhere, a
   * ringed rollout in its rings.
   */
  readonly environments?: readonly string[];
  /** Approvals from distinct principals a change request needs. */
  readonly approvals: number;
  /** Roles whose members may approve; empty: any principal with the `approve` verb on the keys. */
  readonly approvers: readonly string[];
  /** Whether a request's author may approve it. */
  readonly selfApproval: boolean;
  readonly direct: readonly DirectAction[];
  readonly description: string;
  readonly matches: (key: string) => boolean;
}

const checkDocument = documentChecker({
  type: "object",
  properties: {
    keys: { type: "array", minItems: 1, maxItems: 100, items: { type: "string", minLength: 1, maxLength: 256 } },
    environments: { type: "array", minItems: 1, maxItems: 100, uniqueItems: true, items: { type: "string", minLength: 1, maxLength: 128 } },
    approvals: { type: "integer", minimum: 1, maximum: 10 },
    approvers: { type: "array", maxItems: 100, items: { type: "string", minLength: 1, maxLength: 128 } },
    selfApproval: { type: "boolean" },
    direct: { type: "array", maxItems: DIRECT_ACTIONS.length, uniqueItems: true, items: { enum: [...DIRECT_ACTIONS] } },
    description: { type: "string", maxLength: 4096 },
  },
  required: ["keys"],
  additionalProperties: false,
});

/** Reads a stored (or about to be stored) policy; INVALID_ARGUMENT names the bad member under `field`. */
export function protectionFromJson(name: string, doc: JsonValue | undefined, field = "value"): ProtectionPolicy {
  checkDocument(doc ?? null, field);
  const d = doc as { keys: string[]; environments?: string[]; approvals?: number; approvers?: string[]; selfApproval?: boolean; direct?: DirectAction[]; description?: string };
  d.keys.forEach((k, i) => checkGlob(k, `${field}.keys[${i}]`));
  return {
    name,
    keys: [...d.keys],
    ...(d.environments ? { environments: [...d.environments] } : {}),
    approvals: d.approvals ?? 1,
    approvers: [...(d.approvers ?? [])],
    selfApproval: d.selfApproval ?? false,
    direct: d.direct ? [...d.direct] : DEFAULT_DIRECT,
    description: d.description ?? "",
    matches: globMatcher(d.keys),
  };
}

/** Whether `p` covers a write of `key` whose rollout has `rings` (none: served everywhere). */
export function covers(p: ProtectionPolicy, key: string, rings: readonly string[] | undefined): boolean {
  if (!p.matches(key)) return false;
  return p.environments === undefined || rings === undefined || rings.length === 0 || rings.some((r) => p.environments!.includes(r));
}

/** The emergency action a record's kind is, if any. */
const ACTION_OF: Partial<Record<RecordKind, DirectAction>> = {
  rollback: "rollback",
  rollout_killed: "kill",
  rollout_aborted: "abort",
  rollout_paused: "pause",
  rollout_resumed: "resume",
  rollout_promoted: "promote",
};

/** How a draft may reach a protected key, or why it may not. */
export type Passage = { kind: "free" } | { kind: "direct"; policy: string } | { kind: "change_request" } | { kind: "break_glass"; policy: string } | { kind: "refused"; error: CtmError };

/**
 * Whether `draft` may be written past the policies that cover its key. Records ctm's own loops
 * write (a rollout's next step, a health check's rollback, compaction's report) carry out what
 * was already reviewed, or restore: they pass. A client's write passes when every policy
 * covering the key leaves its action direct, when an approved change request applies it, or
 * when the caller broke the glass (asked for it, and holds the right: the chain checked that).
 */
export function passage(draft: Draft, policies: readonly ProtectionPolicy[], breakGlass: boolean): Passage {
  const covering = policies.filter((p) => covers(p, draft.key, draft.rollout?.plan.rings?.order));
  if (covering.length === 0 || draft.cause !== "api") return { kind: "free" };
  // ChangeRequestService sets it only in the batch of a request it found approved.
  if (draft.changeRequest !== undefined) return { kind: "change_request" };
  const action = ACTION_OF[draft.kind];
  const blocking = covering.filter((p) => action === undefined || !p.direct.includes(action));
  if (blocking.length === 0) return { kind: "direct", policy: covering[0]!.name };
  // Named: the policy that asks the most of a review (then the first by name).
  const p = blocking.reduce((a, b) => (b.approvals > a.approvals ? b : a));
  if (breakGlass) return { kind: "break_glass", policy: p.name };
  const others = blocking.filter((o) => o !== p).map((o) => `"${o.name}"`);
  return {
    kind: "refused",
    error: failedPrecondition(
      `"${draft.key}" is protected by policy "${p.name}"${others.length > 0 ? ` (and ${others.join(", ")})` : ""}: changes to it go through a change request with ${p.approvals} approval${p.approvals === 1 ? "" : "s"}` +
        (action === undefined ? "" : ` (the policy does not leave ${action} direct)`) +
        `, or break the glass (the ctm-break-glass header, with the break_glass right)`,
    ),
  };
}
