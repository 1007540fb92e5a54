/**
 * CtmClient's `client.changeRequests` (ChangeRequestService) against a real ctmd with --auth off,
 * where each call's `author` is who acts; the break-glass header through the per-call metadata;
 * and the retry rule of the eight calls against a scripted server.
 */
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { ChangeRequestServiceService } from "../../src/gen/ctm/v1/change_request_service.js";
import { ChangeRequestState, CtmError, isRetrySafe, NEVER_RETRIED, READ_METHODS } from "../../clients/ts/src/index.js";
import { client, defer, startDaemon } from "./helpers.js";

const fail = (p: Promise<unknown>): Promise<CtmError> =>
  p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => {
      if (!(e instanceof CtmError)) throw e;
      return e;
    },
  );

const S = ChangeRequestState;
/** Two approvals from distinct principals, the author not among them, for every key under cr/. */
const POLICY = { keys: ["cr/**"], approvals: 2 };
const BREAK_GLASS = { "ctm-break-glass": "incident 7: fee cap by hand" };

describe("client.changeRequests with a rollout plan", () => {
  it("carries it as apply does: shown as given, built when applied", async () => {
    const daemon = await startDaemon();
    const c = client(daemon.address);
    const plan = { stable: false, percentage: { $case: "steps" as const, value: { start: 10, increment: 10, interval: { seconds: 300, nanos: 0 }, target: 100 } } };
    const { id, operations } = (await c.changeRequests.createChangeRequest({ title: "roll", operations: [{ set: { key: "ro/flag", value: true, rollout: plan } }] }, { author: "ana" })).changeRequest!;
    const op = operations[0]!.operation;
    expect(op?.$case === "set" && op.value.rollout).toMatchObject(plan);
    await c.changeRequests.approveChangeRequest(id, { author: "bob" });
    const [entry] = (await c.changeRequests.applyChangeRequest(id, { author: "ana" })).entries;
    expect(entry).toMatchObject({ key: "ro/flag", changeRequest: id, rollout: { plan: { stable: false } } });
  });
});

describe("client.changeRequests", () => {
  it("create, approve by two authors, a conflicting apply (ABORTED, FAILED), edit resets the approvals, apply: the value is live", async () => {
    const daemon = await startDaemon();
    const c = client(daemon.address);
    const cr = c.changeRequests;
    await c.set("cr/fee", { pct: 1.5, cap: 30 }, { author: "ana" });
    await c.set("_ctm/policies/cr", POLICY, { author: "ana" });
    expect((await fail(c.set("cr/fee", { pct: 2 }, { author: "ana" }))).code).toBe(grpc.status.FAILED_PRECONDITION);

    const created = (await cr.createChangeRequest({ title: "Raise the cap", description: "for the sale", operations: [{ set: { key: "cr/fee", value: { pct: 1.5, cap: 40 } } }, { set: { key: "cr/new", value: null } }] }, { author: "ana" }))
      .changeRequest!;
    expect(created).toMatchObject({ title: "Raise the cap", description: "for the sale", author: "ana", state: S.CHANGE_REQUEST_STATE_IN_REVIEW, approvals: [], policies: ["cr"], approvalsRequired: 2 });
    expect(created.id).not.toBe("");
    expect(created.baseRevision).toBeGreaterThanOrEqual(2); // 0 asked for the head at creation
    expect(created.operations).toEqual([
      { operation: { $case: "set", value: { key: "cr/fee", value: { pct: 1.5, cap: 40 } } } },
      { operation: { $case: "set", value: { key: "cr/new", value: null } } },
    ]);

    // Get: per key, the live entry and RFC 6902 operations to the proposed value.
    const got = await cr.getChangeRequest(created.id);
    expect(got.changeRequest).toMatchObject({ id: created.id, state: S.CHANGE_REQUEST_STATE_IN_REVIEW });
    const fee = got.changes.find((k) => k.key === "cr/fee")!;
    expect(fee.live).toMatchObject({ key: "cr/fee", version: 1, value: { pct: 1.5, cap: 30 } });
    expect(fee.operations).toEqual([{ op: "replace", path: "/cap", from: "", value: 40 }]);
    expect(fee.deleted).toBe(false);
    expect(got.changes.find((k) => k.key === "cr/new")!.live).toBeUndefined();

    // The author may not approve (the policy does not allow it); a principal counts once.
    expect((await fail(cr.approveChangeRequest(created.id, { author: "ana" }))).code).toBe(grpc.status.PERMISSION_DENIED);
    const one = (await cr.approveChangeRequest(created.id, { author: "bob", comment: "ok" })).changeRequest!;
    expect(one).toMatchObject({ state: S.CHANGE_REQUEST_STATE_IN_REVIEW, approvals: [{ principal: "bob", comment: "ok" }] });
    expect((await fail(cr.approveChangeRequest(created.id, { author: "bob" }))).code).toBe(grpc.status.FAILED_PRECONDITION);
    const two = (await cr.approveChangeRequest(created.id, { author: "cy" })).changeRequest!;
    expect(two.state).toBe(S.CHANGE_REQUEST_STATE_APPROVED);
    expect(two.approvals.map((a) => a.principal)).toEqual(["bob", "cy"]);
    expect((await cr.listChangeRequests({ state: S.CHANGE_REQUEST_STATE_APPROVED })).changeRequests.map((x) => x.id)).toEqual([created.id]);

    // Someone breaks the glass on cr/fee after the base revision: the apply is refused, once.
    const glass = await c.set("cr/fee", { pct: 1.5, cap: 35 }, { author: "oncall", metadata: BREAK_GLASS });
    expect(glass.entry).toMatchObject({ version: 2, breakGlass: true });
    const conflict = await fail(cr.applyChangeRequest(created.id, { author: "ana" }));
    expect(conflict).toMatchObject({ code: grpc.status.ABORTED, codeName: "ABORTED", method: "ChangeRequest.Apply", attempts: 1, maybeCommitted: false });
    expect(conflict.details).toContain("cr/fee");
    const failed = (await cr.getChangeRequest(created.id)).changeRequest!;
    expect(failed.state).toBe(S.CHANGE_REQUEST_STATE_FAILED);
    expect(failed.conflict).toContain("cr/fee");
    expect((await c.get("cr/fee")).value).toEqual({ pct: 1.5, cap: 35 });
    expect((await fail(c.get("cr/new"))).code).toBe(grpc.status.NOT_FOUND); // nothing of the batch was written

    // The author rebases it: the approvals go, the base moves to the head now.
    expect((await fail(cr.editChangeRequest(created.id, {}, { author: "bob" }))).code).toBe(grpc.status.PERMISSION_DENIED);
    const rebased = (await cr.editChangeRequest(created.id, { operations: [{ set: { key: "cr/fee", value: { pct: 1.5, cap: 40 } } }] }, { author: "ana" })).changeRequest!;
    expect(rebased).toMatchObject({ state: S.CHANGE_REQUEST_STATE_IN_REVIEW, approvals: [], title: "Raise the cap", conflict: "" });
    expect(rebased.baseRevision).toBeGreaterThanOrEqual(glass.entry!.revision);
    expect(rebased.operations).toHaveLength(1);
    expect((await fail(cr.applyChangeRequest(created.id, { author: "ana" }))).code).toBe(grpc.status.FAILED_PRECONDITION);

    await cr.approveChangeRequest(created.id, { author: "bob" });
    await cr.approveChangeRequest(created.id, { author: "cy" });
    const applied = await cr.applyChangeRequest(created.id, { author: "ana" });
    expect(applied.changeRequest).toMatchObject({ id: created.id, state: S.CHANGE_REQUEST_STATE_APPLIED });
    expect(applied.entries).toEqual([expect.objectContaining({ key: "cr/fee", version: 3, value: { pct: 1.5, cap: 40 }, changeRequest: created.id })]);
    expect(applied.changeRequest!.appliedRevision).toBeGreaterThanOrEqual(applied.entries[0]!.revision); // the batch's (its last record is the request's)
    expect((await c.get("cr/fee")).value).toEqual({ pct: 1.5, cap: 40 });
    expect((await fail(cr.applyChangeRequest(created.id, { author: "ana" }))).code).toBe(grpc.status.FAILED_PRECONDITION);
  });

  it("reject and cancel end a request; a draft is submitted; a later `at` schedules an apply; list filters by state and prefix; the client's author is the default", async () => {
    const daemon = await startDaemon();
    const c = client(daemon.address, { author: "ana" });
    const cr = c.changeRequests;
    const a = (await cr.createChangeRequest({ title: "a", operations: [{ set: { key: "cr/a", value: 1 } }] })).changeRequest!;
    const b = (await cr.createChangeRequest({ title: "b", operations: [{ delete: { key: "other/b" } }] })).changeRequest!;
    expect(a.author).toBe("ana");
    expect(b.operations).toEqual([{ operation: { $case: "delete", value: { key: "other/b" } } }]);

    const rejected = (await cr.rejectChangeRequest(a.id, { author: "bob", comment: "not now" })).changeRequest!;
    expect(rejected).toMatchObject({ state: S.CHANGE_REQUEST_STATE_REJECTED, rejection: { principal: "bob", comment: "not now" } });
    expect((await fail(cr.cancelChangeRequest(b.id, { author: "bob" }))).code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await cr.cancelChangeRequest(b.id)).changeRequest!.state).toBe(S.CHANGE_REQUEST_STATE_CANCELLED);
    expect((await fail(cr.approveChangeRequest(a.id, { author: "cy" }))).code).toBe(grpc.status.FAILED_PRECONDITION);

    // A draft: its author edits it (it stays a draft), nobody reviews it until its author submits it.
    const d = (await cr.createChangeRequest({ title: "d", operations: [{ set: { key: "cr/d", value: 1 } }], draft: true })).changeRequest!;
    expect(d.state).toBe(S.CHANGE_REQUEST_STATE_DRAFT);
    expect((await fail(cr.approveChangeRequest(d.id, { author: "bob" }))).code).toBe(grpc.status.FAILED_PRECONDITION);
    expect((await cr.editChangeRequest(d.id, { operations: [{ set: { key: "cr/d", value: 2 } }] })).changeRequest!.state).toBe(S.CHANGE_REQUEST_STATE_DRAFT);
    expect((await fail(cr.submitChangeRequest(d.id, { author: "bob" }))).code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await cr.submitChangeRequest(d.id)).changeRequest).toMatchObject({ state: S.CHANGE_REQUEST_STATE_IN_REVIEW, operations: [{ operation: { $case: "set", value: { key: "cr/d", value: 2 } } }] });
    expect((await fail(cr.submitChangeRequest(d.id))).code).toBe(grpc.status.FAILED_PRECONDITION);
    await cr.rejectChangeRequest(d.id, { author: "bob" });

    // No policy covers cr/s: one approval, the author's own allowed. A later `at` schedules it.
    const s = (await cr.createChangeRequest({ title: "s", operations: [{ set: { key: "cr/s", value: "later" } }] })).changeRequest!;
    expect((await cr.approveChangeRequest(s.id)).changeRequest).toMatchObject({ state: S.CHANGE_REQUEST_STATE_APPROVED, approvalsRequired: 1, policies: [] });
    const at = new Date(Date.now() + 3_600_000);
    const later = await cr.applyChangeRequest(s.id, { at: at.toISOString() });
    expect(later.changeRequest).toMatchObject({ state: S.CHANGE_REQUEST_STATE_SCHEDULED, scheduledAt: at });
    expect(later.entries).toEqual([]);
    expect((await cr.cancelChangeRequest(s.id, { comment: "not needed" })).changeRequest!.state).toBe(S.CHANGE_REQUEST_STATE_CANCELLED);

    expect((await cr.listChangeRequests()).changeRequests.map((x) => x.id)).toEqual([s.id, d.id, b.id, a.id]); // newest change first
    expect((await cr.listChangeRequests({ state: S.CHANGE_REQUEST_STATE_REJECTED })).changeRequests.map((x) => x.id)).toEqual([d.id, a.id]);
    expect((await cr.listChangeRequests({ prefix: "other/" })).changeRequests.map((x) => x.id)).toEqual([b.id]);
    expect((await cr.listChangeRequests({ state: S.CHANGE_REQUEST_STATE_CANCELLED, prefix: "cr/" })).changeRequests.map((x) => x.id)).toEqual([s.id]);
    expect((await fail(cr.getChangeRequest("000000000000"))).code).toBe(grpc.status.NOT_FOUND);
    expect(await fail(cr.getChangeRequest("not-an-id"))).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, field: "id" });
  });
});

// ---- retries, against a scripted server ----

/** ChangeRequestService answering each method's scripted codes in turn (then OK), counting calls. */
async function scriptedServer(script: Record<string, grpc.status[]>) {
  const calls: string[] = [];
  const impl = Object.fromEntries(
    Object.entries(ChangeRequestServiceService).map(([name, d]) => [
      name,
      (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        calls.push(name);
        const code = script[name]?.shift() ?? grpc.status.OK;
        if (code === grpc.status.OK) return cb(null, d.responseDeserialize(Buffer.alloc(0)));
        cb({ code, details: `scripted ${grpc.status[code]}`, metadata: new grpc.Metadata() });
      },
    ]),
  );
  const server = new grpc.Server();
  server.addService(ChangeRequestServiceService, impl);
  const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  defer(() => server.forceShutdown());
  return { address: `127.0.0.1:${port}`, count: (m: string) => calls.filter((x) => x === m).length };
}

const U = grpc.status.UNAVAILABLE;

describe("the retry rule of client.changeRequests", () => {
  it("retries the two reads after UNAVAILABLE and sends each write once (a new RPC fails this test until it is classified)", async () => {
    const rpcs = Object.keys(ChangeRequestServiceService);
    const s = await scriptedServer(Object.fromEntries(rpcs.map((m) => [m, [U]])));
    const cr = client(s.address, { author: "ana" }).changeRequests;

    await cr.getChangeRequest("x");
    await cr.listChangeRequests({ state: S.CHANGE_REQUEST_STATE_IN_REVIEW });
    expect([s.count("getChangeRequest"), s.count("listChangeRequests")]).toEqual([2, 2]);

    const writes: [string, () => Promise<unknown>][] = [
      ["createChangeRequest", () => cr.createChangeRequest({ title: "t", operations: [{ set: { key: "k", value: 1 } }] })],
      ["submitChangeRequest", () => cr.submitChangeRequest("x")],
      ["editChangeRequest", () => cr.editChangeRequest("x", { title: "t2" })],
      ["approveChangeRequest", () => cr.approveChangeRequest("x", { author: "bob" })],
      ["rejectChangeRequest", () => cr.rejectChangeRequest("x")],
      ["cancelChangeRequest", () => cr.cancelChangeRequest("x")],
      ["applyChangeRequest", () => cr.applyChangeRequest("x")],
    ];
    for (const [name, call] of writes) {
      expect(await fail(call()), name).toMatchObject({ code: U, attempts: 1 });
      expect(s.count(name), name).toBe(1);
    }
    expect(rpcs.sort()).toEqual(writes.map(([n]) => n).concat(["getChangeRequest", "listChangeRequests"]).sort());

    for (const m of ["ChangeRequest.Get", "ChangeRequest.List"]) expect([READ_METHODS.has(m), isRetrySafe(m, {})], m).toEqual([true, true]);
    for (const m of ["Create", "Submit", "Edit", "Approve", "Reject", "Cancel", "Apply"].map((x) => `ChangeRequest.${x}`)) {
      expect([NEVER_RETRIED.has(m), isRetrySafe(m, { expectedVersion: 1 })], m).toEqual([true, false]);
    }
  });

  it("sends the ctm-break-glass header given as per-call metadata", async () => {
    const seen: (string | undefined)[] = [];
    const server = new grpc.Server();
    const d = ChangeRequestServiceService.createChangeRequest;
    server.addService(ChangeRequestServiceService, {
      ...Object.fromEntries(Object.keys(ChangeRequestServiceService).map((n) => [n, () => undefined])),
      createChangeRequest: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        seen.push(call.metadata.get("ctm-break-glass")[0]?.toString());
        cb(null, d.responseDeserialize(Buffer.alloc(0)));
      },
    });
    const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    defer(() => server.forceShutdown());
    const cr = client(`127.0.0.1:${port}`).changeRequests;
    await cr.createChangeRequest({ title: "t", operations: [] }, { metadata: BREAK_GLASS });
    await cr.createChangeRequest({ title: "t", operations: [] });
    expect(seen).toEqual([BREAK_GLASS["ctm-break-glass"], undefined]);
  });
});
