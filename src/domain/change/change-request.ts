import { CtmError, failedPrecondition, permissionDenied } from "../errors.js";
import type { JsonValue } from "@ctm/core/json";
import type { KeyHead } from "@ctm/core/record";
import type { RolloutInput } from "../rollout/build-rollout.js";
import { documentChecker } from "../validation/document-checker.js";
import { covers, type ProtectionPolicy } from "./protection-policy.js";

/** `_ctm/change-requests/<id>`: one request, each state change a new version of its document. */
export const CHANGE_REQUEST_PREFIX = "_ctm/change-requests/";

/** The cause of the records that hold a request's document: only ChangeRequestService writes them. */
export const CHANGE_REQUEST_CAUSE = "change-request";

/** An operation a change request proposes, as Apply takes it; a plan is built when the request is applied. */
export type ChangeOp = { type: "set"; key: string; value: JsonValue; rollout?: RolloutInput } | { type: "delete"; key: string };

export type ChangeState = "draft" | "in_review" | "approved" | "scheduled" | "applied" | "failed" | "rejected" | "cancelled";

/** States nothing leaves. */
const FINAL: ReadonlySet<ChangeState> = new Set(["applied", "rejected", "cancelled"]);

export interface Review {
  readonly principal: string;
  readonly comment: string;
  readonly time: number;
}

export interface ChangeRequest {
  readonly title: string;
  readonly description: string;
  /** Who proposed it: the principal with auth on, else the author the client named. */
  readonly author: string;
  readonly operations: readonly ChangeOp[];
  /** The revision the operations were written against: apply fails if a key they touch changed since. */
  readonly baseRevision: number;
  readonly state: ChangeState;
  /** Distinct principals, in the order they approved. An edit clears them. */
  readonly approvals: readonly Review[];
  readonly rejection?: Review;
  /** Unix ms: when the scheduler applies it. */
  readonly scheduledAt?: number;
  /** Why the last apply failed: the keys changed since the base revision. */
  readonly conflict?: string;
}

/** What a review needs of the policies that cover a request's keys. */
export interface ReviewRule {
  /** The policies covering any key the request touches, by name. */
  readonly policies: readonly string[];
  /** Distinct approvals needed: the most any covering policy asks. */
  readonly approvals: number;
  /** Whether the author may approve: only if every covering policy allows it. */
  readonly selfApproval: boolean;
  /** Role names, one set per policy that names approvers: an approver holds a role of each set. */
  readonly approvers: readonly (readonly string[])[];
}

/** The review the policies covering `ops` ask for; a request no policy covers needs one approval. */
export function reviewRule(ops: readonly ChangeOp[], policies: readonly ProtectionPolicy[]): ReviewRule {
  const covering = policies.filter((p) => ops.some((op) => covers(p, op.key, op.type === "set" ? op.rollout?.rings?.order : undefined)));
  return {
    policies: covering.map((p) => p.name),
    approvals: Math.max(1, ...covering.map((p) => p.approvals)),
    selfApproval: covering.every((p) => p.selfApproval),
    approvers: covering.filter((p) => p.approvers.length > 0).map((p) => p.approvers),
  };
}

const refuse = (cr: ChangeRequest, what: string): CtmError => failedPrecondition(`the change request is ${cr.state.replace("_", " ")}: it cannot be ${what}`);

/** A new request, in review (or a draft, for its author to go on writing). */
export function proposed(p: { title: string; description: string; author: string; operations: readonly ChangeOp[]; baseRevision: number }, draft = false): ChangeRequest {
  return { ...p, state: draft ? "draft" : "in_review", approvals: [] };
}

/** A draft goes to review. */
export function submitted(cr: ChangeRequest, by: string): ChangeRequest {
  if (by !== cr.author) throw permissionDenied(`only the author (${cr.author}) submits a change request`);
  if (cr.state !== "draft") throw refuse(cr, "submitted");
  return { ...cr, state: "in_review" };
}

/** The author changes what it proposes: the approvals go, the base moves, and it is in review again. */
export function edited(cr: ChangeRequest, by: string, change: { title?: string; description?: string; operations?: readonly ChangeOp[]; baseRevision: number }): ChangeRequest {
  if (by !== cr.author) throw permissionDenied(`only the author (${cr.author}) edits a change request`);
  if (FINAL.has(cr.state)) throw refuse(cr, "edited");
  const { conflict: _conflict, scheduledAt: _at, ...rest } = cr;
  return {
    ...rest,
    ...(change.title !== undefined ? { title: change.title } : {}),
    ...(change.description !== undefined ? { description: change.description } : {}),
    ...(change.operations !== undefined ? { operations: change.operations } : {}),
    baseRevision: change.baseRevision,
    // A draft stays one until submitted; anything else is reviewed again.
    state: cr.state === "draft" ? "draft" : "in_review",
    approvals: [],
  };
}

/**
 * One more approval. The author may not approve unless every covering policy allows it; a
 * principal counts once; a policy that names approvers needs one of its roles. Approved once
 * the distinct approvals reach what the policies ask.
 */
export function approved(cr: ChangeRequest, rule: ReviewRule, review: Review, rolesOf: ((principal: string) => readonly string[]) | undefined): ChangeRequest {
  if (cr.state !== "in_review" && cr.state !== "approved") throw refuse(cr, "approved");
  if (review.principal === cr.author && !rule.selfApproval) throw permissionDenied(`${review.principal} proposed this change request and may not approve it (policy ${rule.policies.map((p) => `"${p}"`).join(", ")})`);
  if (cr.approvals.some((a) => a.principal === review.principal)) throw failedPrecondition(`${review.principal} approved this change request already: approvals count distinct principals`);
  // Without auth there are no roles to hold: whoever can reach ctmd is trusted with everything.
  const roles = rolesOf?.(review.principal);
  const missing = roles && rule.approvers.find((set) => !set.some((r) => roles.includes(r)));
  if (missing) throw permissionDenied(`${review.principal} may not approve this change request: approvers need one of the roles ${missing.map((r) => `"${r}"`).join(", ")}`);
  const approvals = [...cr.approvals, review];
  return { ...cr, approvals, state: approvals.length >= rule.approvals ? "approved" : "in_review" };
}

export function rejected(cr: ChangeRequest, review: Review): ChangeRequest {
  if (cr.state !== "in_review" && cr.state !== "approved" && cr.state !== "scheduled" && cr.state !== "failed") throw refuse(cr, "rejected");
  return { ...cr, state: "rejected", rejection: review };
}

export function cancelled(cr: ChangeRequest, by: string): ChangeRequest {
  if (by !== cr.author) throw permissionDenied(`only the author (${cr.author}) cancels a change request`);
  if (FINAL.has(cr.state)) throw refuse(cr, "cancelled");
  return { ...cr, state: "cancelled" };
}

export function scheduled(cr: ChangeRequest, at: number): ChangeRequest {
  if (cr.state !== "approved" && cr.state !== "scheduled") throw refuse(cr, "scheduled");
  return { ...cr, state: "scheduled", scheduledAt: at };
}

/**
 * The keys the request touches that changed after its base revision, in its order: applying
 * it then would overwrite changes its reviewers never saw.
 */
export function conflicts(cr: ChangeRequest, head: (key: string) => KeyHead | undefined): string[] {
  const out: string[] = [];
  for (const op of cr.operations) {
    const h = head(op.key);
    if (h !== undefined && h.revision > cr.baseRevision && !out.includes(op.key)) out.push(op.key);
  }
  return out;
}

/** Checked inside the commit that applies it: ABORTED naming the keys when any changed since the base. */
export function checkApplicable(cr: ChangeRequest, head: (key: string) => KeyHead | undefined): void {
  if (cr.state !== "approved" && cr.state !== "scheduled") throw refuse(cr, "applied");
  const changed = conflicts(cr, head);
  if (changed.length > 0) {
    throw new CtmError("conflict", `${changed.map((k) => `"${k}"`).join(", ")} changed after revision ${cr.baseRevision}, which the change request was written against: its author rebases it by editing it`);
  }
}

/** Written in the batch that applies it: the revision of that version of its document is the batch's. */
export function applied(cr: ChangeRequest): ChangeRequest {
  const { conflict: _conflict, ...rest } = cr;
  return { ...rest, state: "applied" };
}

export function failed(cr: ChangeRequest, conflict: string): ChangeRequest {
  if (cr.state !== "approved" && cr.state !== "scheduled") throw refuse(cr, "marked failed");
  return { ...cr, state: "failed", conflict };
}

const review = {
  type: "object",
  properties: { principal: { type: "string", minLength: 1, maxLength: 512 }, comment: { type: "string", maxLength: 4096 }, time: { type: "integer", minimum: 0 } },
  required: ["principal", "comment", "time"],
  additionalProperties: false,
} as const;

const checkDocument = documentChecker({
  type: "object",
  properties: {
    title: { type: "string", minLength: 1, maxLength: 200 },
    description: { type: "string", maxLength: 16_384 },
    author: { type: "string", minLength: 1, maxLength: 512 },
    operations: {
      type: "array",
      minItems: 1,
      maxItems: 1000,
      items: {
        type: "object",
        properties: { type: { enum: ["set", "delete"] }, key: { type: "string", minLength: 1, maxLength: 1024 }, value: {}, rollout: { type: "object" } },
        required: ["type", "key"],
        additionalProperties: false,
      },
    },
    baseRevision: { type: "integer", minimum: 0 },
    state: { enum: ["draft", "in_review", "approved", "scheduled", "applied", "failed", "rejected", "cancelled"] },
    approvals: { type: "array", maxItems: 100, items: review },
    rejection: review,
    scheduledAt: { type: "integer", minimum: 0 },
    conflict: { type: "string", maxLength: 16_384 },
  },
  required: ["title", "description", "author", "operations", "baseRevision", "state", "approvals"],
  additionalProperties: false,
});

/** A stored change request read back; INVALID_ARGUMENT names the bad member under `field`. */
export function changeRequestFromJson(doc: JsonValue | undefined, field = "value"): ChangeRequest {
  checkDocument(doc ?? null, field);
  return doc as unknown as ChangeRequest;
}

/** The document stored for `cr`: plain JSON, as History and Diff show it. */
export const changeRequestToJson = (cr: ChangeRequest): JsonValue => JSON.parse(JSON.stringify(cr)) as JsonValue;
