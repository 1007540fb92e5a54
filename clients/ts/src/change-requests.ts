/**
 * ChangeRequestService as a typed API of CtmClient: `client.changeRequests`. Same conventions as
 * the rest of the client: per-call deadlines, plain JSON values, enums as their names, errors as
 * CtmError, and the retry rule of retry.ts (the reads always; the writes never, since none of
 * them carries a version guard).
 */
import type { JsonValue } from "@ctm/core/json";
import type { CallOptions, CtmClient } from "./client.js";
import type { TimeLike } from "./safety.js";
import {
  ApplyChangeRequestRequest,
  ApproveChangeRequestRequest,
  CancelChangeRequestRequest,
  ChangeRequestState,
  GetChangeRequestRequest,
  ListChangeRequestsRequest,
  RejectChangeRequestRequest,
  SubmitChangeRequestRequest,
  type ApplyChangeRequestResponse,
  type ApproveChangeRequestResponse,
  type CancelChangeRequestResponse,
  type ChangeOperation,
  type CreateChangeRequestRequest,
  type CreateChangeRequestResponse,
  type EditChangeRequestRequest,
  type EditChangeRequestResponse,
  type GetChangeRequestResponse,
  type ListChangeRequestsResponse,
  type RejectChangeRequestResponse,
  type SubmitChangeRequestResponse,
} from "./gen/ctm/v1/change_request_service.js";
import { RolloutPlan, type DeepPartial } from "./gen/ctm/v1/rollout.js";

/** One operation a change request proposes: the shape of an `apply` operation (a plan rolls the value out), without version guards. */
export type ChangeOp = { set: { key: string; value: JsonValue; rollout?: DeepPartial<RolloutPlan> } } | { delete: { key: string } };

/** What a change request proposes. */
export interface ChangeProposal {
  title: string;
  description?: string;
  operations: ChangeOp[];
  /** The revision the operations are written against (default 0: the head now). */
  baseRevision?: number;
}

/** A new request: with `draft`, it starts CHANGE_REQUEST_STATE_DRAFT, edited by its author until submitted. */
export interface NewChangeRequest extends ChangeProposal {
  draft?: boolean;
}

/** Who acts: with --auth off, `author` (default: the client's) is the identity; with auth on, the token's principal is. */
export interface ReviewOptions extends CallOptions {
  author?: string;
  comment?: string;
}

const toPb = (ops: ChangeOp[]): ChangeOperation[] =>
  ops.map((op) =>
    "set" in op
      ? { operation: { $case: "set", value: { key: op.set.key, value: op.set.value, ...(op.set.rollout ? { rollout: RolloutPlan.fromPartial(op.set.rollout) } : {}) } } }
      : { operation: { $case: "delete", value: { key: op.delete.key } } },
  );

/** ChangeRequestService, as `client.changeRequests`. */
export class ChangeRequestApi {
  constructor(private readonly c: CtmClient) {}

  /** Proposes operations; the request starts CHANGE_REQUEST_STATE_IN_REVIEW (or DRAFT, with `draft`). Never retried. */
  createChangeRequest(p: NewChangeRequest, o: Omit<ReviewOptions, "comment"> = {}): Promise<CreateChangeRequestResponse> {
    const req: CreateChangeRequestRequest = {
      title: p.title,
      description: p.description ?? "",
      operations: toPb(p.operations),
      baseRevision: p.baseRevision ?? 0,
      author: this.c.author(o),
      draft: p.draft ?? false,
    };
    return this.c.unary("ChangeRequest.Create", this.c.changeRequestStub.createChangeRequest, req, o, this.c.changeRequestStub);
  }

  /** Puts a draft in review; its author only. Never retried. */
  submitChangeRequest(id: string, o: Omit<ReviewOptions, "comment"> = {}): Promise<SubmitChangeRequestResponse> {
    const req = SubmitChangeRequestRequest.fromPartial({ id, author: this.c.author(o) });
    return this.c.unary("ChangeRequest.Submit", this.c.changeRequestStub.submitChangeRequest, req, o, this.c.changeRequestStub);
  }

  /** The request and, per key, the live entry and the RFC 6902 operations to the proposed value. A read: retried. */
  getChangeRequest(id: string, o: CallOptions = {}): Promise<GetChangeRequestResponse> {
    return this.c.unary("ChangeRequest.Get", this.c.changeRequestStub.getChangeRequest, GetChangeRequestRequest.fromPartial({ id }), o, this.c.changeRequestStub);
  }

  /** Requests, newest first: all, or those in `state`, or those whose every key is under `prefix`. A read: retried. */
  listChangeRequests(o: CallOptions & { state?: ChangeRequestState; prefix?: string } = {}): Promise<ListChangeRequestsResponse> {
    const req = ListChangeRequestsRequest.fromPartial({ state: o.state ?? ChangeRequestState.CHANGE_REQUEST_STATE_UNSPECIFIED, prefix: o.prefix ?? "" });
    return this.c.unary("ChangeRequest.List", this.c.changeRequestStub.listChangeRequests, req, o, this.c.changeRequestStub);
  }

  /**
   * The author changes what it proposes (what is left out stays): the approvals reset and the
   * base revision moves (default 0: the head now), which is how a FAILED request is rebased; a
   * draft stays a draft, anything else is in review again. Never retried.
   */
  editChangeRequest(id: string, change: Partial<ChangeProposal>, o: Omit<ReviewOptions, "comment"> = {}): Promise<EditChangeRequestResponse> {
    const req: EditChangeRequestRequest = {
      id,
      title: change.title ?? "",
      description: change.description ?? "",
      operations: toPb(change.operations ?? []),
      baseRevision: change.baseRevision ?? 0,
      author: this.c.author(o),
    };
    return this.c.unary("ChangeRequest.Edit", this.c.changeRequestStub.editChangeRequest, req, o, this.c.changeRequestStub);
  }

  /** Adds the caller's approval; APPROVED once enough distinct principals approved. Never retried. */
  approveChangeRequest(id: string, o: ReviewOptions = {}): Promise<ApproveChangeRequestResponse> {
    const req = ApproveChangeRequestRequest.fromPartial({ id, comment: o.comment ?? "", author: this.c.author(o) });
    return this.c.unary("ChangeRequest.Approve", this.c.changeRequestStub.approveChangeRequest, req, o, this.c.changeRequestStub);
  }

  /** Ends the request as rejected. Never retried. */
  rejectChangeRequest(id: string, o: ReviewOptions = {}): Promise<RejectChangeRequestResponse> {
    const req = RejectChangeRequestRequest.fromPartial({ id, comment: o.comment ?? "", author: this.c.author(o) });
    return this.c.unary("ChangeRequest.Reject", this.c.changeRequestStub.rejectChangeRequest, req, o, this.c.changeRequestStub);
  }

  /** Ends the request; its author only. Never retried. */
  cancelChangeRequest(id: string, o: ReviewOptions = {}): Promise<CancelChangeRequestResponse> {
    const req = CancelChangeRequestRequest.fromPartial({ id, comment: o.comment ?? "", author: this.c.author(o) });
    return this.c.unary("ChangeRequest.Cancel", this.c.changeRequestStub.cancelChangeRequest, req, o, this.c.changeRequestStub);
  }

  /**
   * Writes an approved request's operations in one batch (`entries`). A key changed after the
   * base revision: CtmError ABORTED, and the request is FAILED with `conflict` (the author
   * rebases it with editChangeRequest). With `at` later than now, the request is SCHEDULED
   * instead, and ctmd applies it then. Never retried.
   */
  applyChangeRequest(id: string, o: Omit<ReviewOptions, "comment"> & { at?: TimeLike } = {}): Promise<ApplyChangeRequestResponse> {
    const req = ApplyChangeRequestRequest.fromPartial({ id, author: this.c.author(o), at: o.at === undefined ? undefined : o.at instanceof Date ? o.at : new Date(o.at) });
    return this.c.unary("ChangeRequest.Apply", this.c.changeRequestStub.applyChangeRequest, req, o, this.c.changeRequestStub);
  }
}
