import type { ChangeOp, ChangeState } from "../../domain/change/change-request.js";
import { invalidArgument } from "../../domain/errors.js";
import {
  ChangeRequestState as PbState,
  type ChangeOperation,
  type ChangeRequest as PbChangeRequest,
  type ChangeRequestServiceServer,
  type KeyChange,
} from "../../gen/ctm/v1/change_request_service.js";
import type { ResponseHeader } from "../../gen/ctm/v1/record.js";
import type { ChangeRequestService, KeyChangeView, StoredChange } from "../../service/change-request-service.js";
import { toEntry, toPatchOperation } from "./entry-mapper.js";
import { toPbRolloutPlan, toRolloutInput } from "./rollout-mapper.js";
import { prefixed as prefixedField } from "../../service/config-service.js";
import { unary, type Rpc } from "./rpc-logger.js";

const STATES: Record<ChangeState, PbState> = {
  draft: PbState.CHANGE_REQUEST_STATE_DRAFT,
  in_review: PbState.CHANGE_REQUEST_STATE_IN_REVIEW,
  approved: PbState.CHANGE_REQUEST_STATE_APPROVED,
  scheduled: PbState.CHANGE_REQUEST_STATE_SCHEDULED,
  applied: PbState.CHANGE_REQUEST_STATE_APPLIED,
  failed: PbState.CHANGE_REQUEST_STATE_FAILED,
  rejected: PbState.CHANGE_REQUEST_STATE_REJECTED,
  cancelled: PbState.CHANGE_REQUEST_STATE_CANCELLED,
};
const FROM_PB = new Map<PbState, ChangeState>(Object.entries(STATES).map(([k, v]) => [v, k as ChangeState]));

/** A set without a value, or an operation that is neither, is refused naming its field. */
export function toChangeOps(ops: readonly ChangeOperation[], field = "operations"): ChangeOp[] {
  return ops.map((o, i): ChangeOp => {
    const op = o.operation;
    if (op?.$case === "set") {
      const f = `${field}[${i}].set.`;
      if (op.value.value === undefined) throw invalidArgument(`${f}value`, "is required");
      const plan = op.value.rollout;
      return { type: "set", key: op.value.key, value: op.value.value, ...(plan ? { rollout: prefixedField(f, () => toRolloutInput(plan)) } : {}) };
    }
    if (op?.$case === "delete") return { type: "delete", key: op.value.key };
    throw invalidArgument(`${field}[${i}]`, "must be a set or a delete");
  });
}

const toPbOp = (op: ChangeOp): ChangeOperation => ({
  operation: op.type === "set" ? { $case: "set", value: { key: op.key, value: op.value, rollout: op.rollout && toPbRolloutPlan(op.rollout) } } : { $case: "delete", value: { key: op.key } },
});

const review = (r: { principal: string; comment: string; time: number } | undefined) => r && { principal: r.principal, comment: r.comment, time: new Date(r.time) };

export function toPbChangeRequest(s: StoredChange): PbChangeRequest {
  const { cr, record, rule } = s;
  return {
    id: s.id,
    title: cr.title,
    description: cr.description,
    author: cr.author,
    operations: cr.operations.map(toPbOp),
    baseRevision: cr.baseRevision,
    state: STATES[cr.state],
    approvals: cr.approvals.map((a) => review(a)!),
    rejection: review(cr.rejection),
    conflict: cr.conflict ?? "",
    appliedRevision: cr.state === "applied" ? record.revision : 0,
    policies: [...rule.policies],
    approvalsRequired: rule.approvals,
    version: record.version,
    updated: new Date(record.time),
    scheduledAt: cr.scheduledAt === undefined ? undefined : new Date(cr.scheduledAt),
  };
}

const toKeyChange = (c: KeyChangeView): KeyChange => ({ key: c.key, live: c.live && toEntry(c.live), operations: c.ops.map(toPatchOperation), deleted: c.deleted });

/** Proto <-> domain mapping for ChangeRequestService; the use cases live in the service. */
export function changeRequestHandlers(svc: ChangeRequestService, header: () => ResponseHeader, rpc: Rpc): ChangeRequestServiceServer {
  const byId = (r: { id: string }) => r.id;
  const answer = (s: StoredChange) => ({ header: header(), changeRequest: toPbChangeRequest(s) });
  return {
    createChangeRequest: unary(rpc, "ChangeRequest.Create", () => undefined, async (r) =>
      answer(await svc.create({ title: r.title, description: r.description, operations: toChangeOps(r.operations), baseRevision: r.baseRevision, author: r.author, draft: r.draft })),
    ),
    submitChangeRequest: unary(rpc, "ChangeRequest.Submit", byId, async (r) => answer(await svc.submit(r))),
    getChangeRequest: unary(rpc, "ChangeRequest.Get", byId, (r) => {
      const s = svc.get(r.id);
      return { ...answer(s), changes: svc.changes(s.cr).map(toKeyChange) };
    }),
    listChangeRequests: unary(rpc, "ChangeRequest.List", (r) => r.prefix, (r) => {
      const state = r.state === PbState.CHANGE_REQUEST_STATE_UNSPECIFIED ? undefined : FROM_PB.get(r.state);
      if (r.state !== PbState.CHANGE_REQUEST_STATE_UNSPECIFIED && state === undefined) throw invalidArgument("state", "must be a change request state");
      return { header: header(), changeRequests: svc.list(state, r.prefix).map(toPbChangeRequest) };
    }),
    editChangeRequest: unary(rpc, "ChangeRequest.Edit", byId, async (r) =>
      answer(await svc.edit({ id: r.id, title: r.title, description: r.description, operations: toChangeOps(r.operations), baseRevision: r.baseRevision, author: r.author })),
    ),
    approveChangeRequest: unary(rpc, "ChangeRequest.Approve", byId, async (r) => answer(await svc.approve(r))),
    rejectChangeRequest: unary(rpc, "ChangeRequest.Reject", byId, async (r) => answer(await svc.reject(r))),
    cancelChangeRequest: unary(rpc, "ChangeRequest.Cancel", byId, async (r) => answer(await svc.cancel(r))),
    applyChangeRequest: unary(rpc, "ChangeRequest.Apply", byId, async (r) => {
      const { change, records } = await svc.apply({ id: r.id, author: r.author, ...(r.at ? { at: r.at.getTime() } : {}) });
      return { ...answer(change), entries: records.map(toEntry) };
    }),
  };
}
