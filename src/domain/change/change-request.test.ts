import { describe, expect, it } from "vitest";
import type { KeyHead } from "@ctm/core/record";
import {
  applied,
  approved,
  cancelled,
  changeRequestFromJson,
  changeRequestToJson,
  checkApplicable,
  conflicts,
  edited,
  failed,
  proposed,
  rejected,
  reviewRule,
  scheduled,
  submitted,
  type ChangeRequest,
} from "./change-request.js";
import { protectionFromJson } from "./protection-policy.js";

const policies = [
  protectionFromJson("pay", { keys: ["pay/**"], approvals: 2, approvers: ["finance"] }),
  protectionFromJson("flags", { keys: ["flags/**"], selfApproval: true }),
  protectionFromJson("ops", { keys: ["pay/limits/**"], approvals: 1, approvers: ["sre", "oncall"] }),
];
const at = (principal: string, comment = "ok") => ({ principal, comment, time: 1000 });
const roles: Record<string, string[]> = { "token:fin": ["finance", "sre"], "token:fin2": ["finance", "oncall"], "token:dev": ["dev"], "token:ann": ["finance", "sre"] };
const rolesOf = (p: string) => roles[p] ?? [];

const request = (ops: ChangeRequest["operations"] = [{ type: "set", key: "pay/limits/daily", value: 500 }]): ChangeRequest =>
  proposed({ title: "raise the limit", description: "", author: "token:ann", operations: ops, baseRevision: 10 });

describe("reviewRule", () => {
  it("asks what the strictest covering policy asks: the most approvals, self-approval only if all allow it, a role of each naming policy", () => {
    expect(reviewRule([{ type: "set", key: "pay/limits/daily", value: 1 }], policies)).toEqual({ policies: ["pay", "ops"], approvals: 2, selfApproval: false, approvers: [["finance"], ["sre", "oncall"]] });
    expect(reviewRule([{ type: "delete", key: "flags/x" }], policies)).toEqual({ policies: ["flags"], approvals: 1, selfApproval: true, approvers: [] });
    expect(reviewRule([{ type: "delete", key: "open/x" }], policies)).toEqual({ policies: [], approvals: 1, selfApproval: true, approvers: [] });
  });
});

describe("a change request's review", () => {
  const rule = reviewRule(request().operations, policies);

  it("is approved once distinct principals with the right roles reach the count; the author may not approve by default", () => {
    let cr = request();
    expect(cr.state).toBe("in_review");
    expect(() => approved(cr, rule, at("token:ann"), rolesOf)).toThrow(expect.objectContaining({ code: "permission_denied", message: expect.stringMatching(/^token:ann proposed this change request and may not approve it \(policy "pay", "ops"\)/) }));
    expect(() => approved(cr, rule, at("token:dev"), rolesOf)).toThrow(expect.objectContaining({ code: "permission_denied", message: expect.stringMatching(/approvers need one of the roles "finance"/) }));
    cr = approved(cr, rule, at("token:fin"), rolesOf);
    expect(cr).toMatchObject({ state: "in_review", approvals: [at("token:fin")] });
    expect(() => approved(cr, rule, at("token:fin", "again"), rolesOf)).toThrow(expect.objectContaining({ code: "failed_precondition", message: expect.stringMatching(/approved this change request already/) }));
    cr = approved(cr, rule, at("token:fin2"), rolesOf);
    expect(cr.state).toBe("approved");
    expect(cr.approvals.map((a) => a.principal)).toEqual(["token:fin", "token:fin2"]);
  });

  it("lets the author approve where every covering policy allows it", () => {
    const cr = request([{ type: "set", key: "flags/x", value: true }]);
    expect(approved(cr, reviewRule(cr.operations, policies), at("token:ann"), rolesOf).state).toBe("approved");
  });

  it("an edit by the author clears the approvals, moves the base, drops a conflict and puts it in review again; nobody else edits", () => {
    let cr = approved(approved(request(), rule, at("token:fin"), rolesOf), rule, at("token:fin2"), rolesOf);
    cr = failed(cr, '"pay/limits/daily" changed');
    expect(() => edited(cr, "token:fin", { baseRevision: 20 })).toThrow(expect.objectContaining({ code: "permission_denied" }));
    const again = edited(cr, "token:ann", { baseRevision: 20, operations: [{ type: "set", key: "pay/limits/daily", value: 600 }] });
    expect(again).toMatchObject({ state: "in_review", approvals: [], baseRevision: 20, operations: [{ value: 600 }], title: "raise the limit" });
    expect(again.conflict).toBeUndefined();
  });

  it("a draft is edited by its author, stays a draft, and is reviewed only once submitted", () => {
    const draft = proposed({ title: "t", description: "", author: "token:ann", operations: [{ type: "set", key: "pay/a", value: 1 }], baseRevision: 3 }, true);
    expect(draft.state).toBe("draft");
    expect(() => approved(draft, rule, at("token:fin"), rolesOf)).toThrow(/is draft: it cannot be approved/);
    expect(edited(draft, "token:ann", { baseRevision: 4 }).state).toBe("draft");
    expect(() => submitted(draft, "token:fin")).toThrow(expect.objectContaining({ code: "permission_denied" }));
    const inReview = submitted(draft, "token:ann");
    expect(inReview.state).toBe("in_review");
    expect(() => submitted(inReview, "token:ann")).toThrow(/is in review: it cannot be submitted/);
  });

  it("rejects, cancels and schedules only from the states that allow it; applied, rejected and cancelled are final", () => {
    const cr = request();
    const r = rejected(cr, at("token:fin", "no"));
    expect(r).toMatchObject({ state: "rejected", rejection: { principal: "token:fin", comment: "no" } });
    for (const f of [() => approved(r, rule, at("token:fin2"), rolesOf), () => edited(r, "token:ann", { baseRevision: 1 }), () => cancelled(r, "token:ann"), () => rejected(r, at("x"))]) {
      expect(f).toThrow(expect.objectContaining({ code: "failed_precondition", message: expect.stringMatching(/^the change request is rejected: it cannot be/) }));
    }
    expect(() => cancelled(cr, "token:fin")).toThrow(expect.objectContaining({ code: "permission_denied" }));
    expect(cancelled(cr, "token:ann").state).toBe("cancelled");
    expect(() => scheduled(cr, 5000)).toThrow(/in review: it cannot be scheduled/);
    const ok = approved(approved(cr, rule, at("token:fin"), rolesOf), rule, at("token:fin2"), rolesOf);
    expect(scheduled(ok, 5000)).toMatchObject({ state: "scheduled", scheduledAt: 5000 });
    const done = applied(scheduled(ok, 5000));
    expect(done).toMatchObject({ state: "applied", scheduledAt: 5000 });
    expect(() => cancelled(done, "token:ann")).toThrow(/is applied: it cannot be cancelled/);
  });
});

describe("applying", () => {
  const heads: Record<string, KeyHead> = { "pay/a": { version: 3, revision: 9, deleted: false }, "pay/b": { version: 5, revision: 12, deleted: false } };
  const head = (k: string) => heads[k];

  it("names every key changed after the base revision, once, and refuses with ABORTED; untouched keys and new keys pass", () => {
    let cr = request([
      { type: "set", key: "pay/a", value: 1 },
      { type: "delete", key: "pay/b" },
      { type: "set", key: "pay/b", value: 2 },
      { type: "set", key: "pay/new", value: 3 },
    ]);
    expect(conflicts(cr, head)).toEqual(["pay/b"]);
    expect(() => checkApplicable(cr, head)).toThrow(/in review: it cannot be applied/);
    cr = { ...cr, state: "approved" };
    expect(() => checkApplicable(cr, head)).toThrow(expect.objectContaining({ code: "conflict", message: '"pay/b" changed after revision 10, which the change request was written against: its author rebases it by editing it' }));
    expect(() => checkApplicable({ ...cr, baseRevision: 12 }, head)).not.toThrow();
  });
});

describe("the stored document", () => {
  it("round-trips, and a document that is not a change request is refused naming the member", () => {
    const cr = approved(request(), reviewRule(request().operations, policies), at("token:fin"), rolesOf);
    expect(changeRequestFromJson(changeRequestToJson(cr))).toEqual(cr);
    expect(() => changeRequestFromJson({ ...(changeRequestToJson(cr) as object), state: "merged" })).toThrow(/^value\.state: /);
    expect(() => changeRequestFromJson({ ...(changeRequestToJson(cr) as object), operations: [] })).toThrow(/^value\.operations: /);
    expect(() => changeRequestFromJson({ ...(changeRequestToJson(cr) as object), operations: [{ type: "rename", key: "a" }] })).toThrow(/^value\.operations\[0\]\.type: /);
  });
});
