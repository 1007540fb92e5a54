import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Verb } from "../../src/gen/ctm/v1/auth_service.js";
import * as crpb from "../../src/gen/ctm/v1/change_request_service.js";
import type { WatchResponse } from "../../src/gen/ctm/v1/config_service.js";
import { AuthApi } from "../helpers/auth.js";
import { api, call, connect, rejects, tokenMetadata, type Client } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";

const State = crpb.ChangeRequestState;
let daemon: Daemon;
let client: Client;
let crClient: InstanceType<typeof crpb.ChangeRequestServiceClient>;
let admin: AuthApi;
let adminToken: string;
const t: Record<string, string> = {};

/** ChangeRequestService as `token`. */
const cr = (token: string) => {
  const u =
    <Req, Res>(fn: (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (e: grpc.ServiceError | null, r: Res) => void) => grpc.ClientUnaryCall, type: { fromPartial(o: object): Req }) =>
    (r: object): Promise<Res> =>
      call(fn.bind(crClient), type.fromPartial(r), tokenMetadata(token));
  return {
    create: u(crClient.createChangeRequest, crpb.CreateChangeRequestRequest),
    get: u(crClient.getChangeRequest, crpb.GetChangeRequestRequest),
    list: u(crClient.listChangeRequests, crpb.ListChangeRequestsRequest),
    edit: u(crClient.editChangeRequest, crpb.EditChangeRequestRequest),
    approve: u(crClient.approveChangeRequest, crpb.ApproveChangeRequestRequest),
    submit: u(crClient.submitChangeRequest, crpb.SubmitChangeRequestRequest),
    reject: u(crClient.rejectChangeRequest, crpb.RejectChangeRequestRequest),
    cancel: u(crClient.cancelChangeRequest, crpb.CancelChangeRequestRequest),
    apply: u(crClient.applyChangeRequest, crpb.ApplyChangeRequestRequest),
  };
};
const set = (key: string, value: unknown) => ({ operation: { $case: "set", value: { key, value } } });
const del = (key: string) => ({ operation: { $case: "delete", value: { key } } });

beforeAll(async () => {
  daemon = await Daemon.start({ args: ["--auth", "on", "--auth-failure-delay-max-ms", "0"] });
  adminToken = (await readFile(join(daemon.dataDir, "admin.token"), "utf8")).trim();
  client = connect(daemon.address);
  crClient = new crpb.ChangeRequestServiceClient(daemon.address, grpc.credentials.createInsecure());
  admin = new AuthApi(daemon.address, adminToken);
  await admin.setRole({ name: "dev", grants: [{ verbs: [Verb.VERB_READ, Verb.VERB_WRITE], keys: ["pay/**", "open/**"] }] });
  await admin.setRole({ name: "finance", grants: [{ verbs: [Verb.VERB_READ, Verb.VERB_APPROVE], keys: ["pay/**"] }] });
  await admin.setRole({ name: "reviewer", grants: [{ verbs: [Verb.VERB_READ, Verb.VERB_APPROVE], keys: ["pay/**"] }] });
  await admin.setRole({ name: "sre", grants: [{ verbs: [Verb.VERB_READ, Verb.VERB_WRITE, Verb.VERB_BREAK_GLASS], keys: ["pay/**"] }] });
  t.dev = await admin.createToken("dev", ["dev"]);
  t.dev2 = await admin.createToken("dev2", ["dev"]);
  t.fin = await admin.createToken("fin", ["finance"]);
  t.fin2 = await admin.createToken("fin2", ["finance"]);
  t.reviewer = await admin.createToken("reviewer", ["reviewer"]);
  t.sre = await admin.createToken("sre", ["sre"]);
  const c = api(client, adminToken);
  await c.set({ key: "pay/limit", value: { daily: 100 } });
  await c.set({ key: "pay/fee", value: 1 });
  // Two approvals, from members of finance; rollbacks stay direct.
  await c.set({ key: "_ctm/policies/pay", value: { keys: ["pay/**"], approvals: 2, approvers: ["finance"] } });
}, 60_000);

afterAll(async () => {
  admin?.close();
  crClient?.close();
  client?.close();
  await daemon?.dispose();
});

describe("change requests", () => {
  it("refuses bad input naming the field, and nobody writes a request's document but the service", async () => {
    const dev = cr(t.dev);
    let e = await rejects(dev.create({ title: "", operations: [set("pay/limit", 1)] }));
    expect([e.code, e.details]).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringMatching(/^title: is required/)]);
    e = await rejects(dev.create({ title: "x", operations: [] }));
    expect(e.details).toMatch(/^operations: must hold at least one operation/);
    e = await rejects(dev.create({ title: "x", operations: [{ operation: { $case: "set", value: { key: "pay/limit" } } }] }));
    expect(e.details).toMatch(/^operations\[0\]\.set\.value: is required/);
    e = await rejects(dev.get({ id: "nope" }));
    expect([e.code, e.details]).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringMatching(/^id: /)]);
    e = await rejects(dev.get({ id: "0123456789ab" }));
    expect(e.code).toBe(grpc.status.NOT_FOUND);
    // Proposing needs write on the keys.
    e = await rejects(cr(t.fin).create({ title: "x", operations: [set("pay/limit", 1)] }));
    expect(e.code).toBe(grpc.status.PERMISSION_DENIED);

    const { changeRequest } = await dev.create({ title: "doc", operations: [set("open/a", 1)] });
    const docKey = `_ctm/change-requests/${changeRequest!.id}`;
    const c = api(client, adminToken);
    e = await rejects(c.set({ key: docKey, value: { state: "applied" } }));
    expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
    e = await rejects(c.delete({ key: docKey }));
    expect([e.code, e.details]).toEqual([grpc.status.FAILED_PRECONDITION, `"${docKey}" is written by ChangeRequestService only`]);
    await cr(t.dev).cancel({ id: changeRequest!.id });
  });

  it("is reviewed by distinct approvers of the policy's roles, never its author, then applied as one batch naming it", async () => {
    const dev = cr(t.dev);
    const created = (await dev.create({ title: "raise the daily limit", description: "Q4", operations: [set("pay/limit", { daily: 500 }), set("pay/new", true)] })).changeRequest!;
    expect(created).toMatchObject({ state: State.CHANGE_REQUEST_STATE_IN_REVIEW, author: "token:dev", policies: ["pay"], approvalsRequired: 2, version: 1 });
    const id = created.id;
    expect(id).toMatch(/^[0-9a-f]{12}$/);

    const got = await dev.get({ id });
    expect(got.changes).toEqual([
      expect.objectContaining({ key: "pay/limit", deleted: false, live: expect.objectContaining({ value: { daily: 100 } }), operations: [expect.objectContaining({ op: "replace", path: "/daily", value: 500 })] }),
      expect.objectContaining({ key: "pay/new", live: undefined, operations: [expect.objectContaining({ op: "add", path: "", value: true })] }),
    ]);

    let e = await rejects(dev.approve({ id }));
    expect(e.code).toBe(grpc.status.PERMISSION_DENIED); // no approve verb
    e = await rejects(cr(t.reviewer).approve({ id }));
    expect([e.code, e.details]).toEqual([grpc.status.PERMISSION_DENIED, expect.stringMatching(/approvers need one of the roles "finance"/)]);
    e = await rejects(dev.apply({ id }));
    expect([e.code, e.details]).toEqual([grpc.status.FAILED_PRECONDITION, "the change request is in review: it cannot be applied"]);

    expect((await cr(t.fin).approve({ id, comment: "fine" })).changeRequest!.state).toBe(State.CHANGE_REQUEST_STATE_IN_REVIEW);
    e = await rejects(cr(t.fin).approve({ id }));
    expect([e.code, e.details]).toEqual([grpc.status.FAILED_PRECONDITION, expect.stringMatching(/token:fin approved this change request already/)]);
    const ok = (await cr(t.fin2).approve({ id })).changeRequest!;
    expect(ok.state).toBe(State.CHANGE_REQUEST_STATE_APPROVED);
    expect(ok.approvals.map((a) => [a.principal, a.comment])).toEqual([
      ["token:fin", "fine"],
      ["token:fin2", ""],
    ]);

    const applied = await cr(t.dev2).apply({ id });
    expect(applied.entries.map((x) => [x.key, x.changeRequest, x.author, x.principal])).toEqual([
      ["pay/limit", id, "token:dev", "token:dev2"],
      ["pay/new", id, "token:dev", "token:dev2"],
    ]);
    expect(applied.entries[0]!.message).toBe(`change request ${id} "raise the daily limit", approved by token:fin, token:fin2`);
    expect(applied.changeRequest).toMatchObject({ state: State.CHANGE_REQUEST_STATE_APPLIED, appliedRevision: applied.entries[1]!.revision + 1 });
    expect((await api(client, t.dev).get({ key: "pay/limit" })).value).toEqual({ daily: 500 });

    // Its whole review is in the document's history.
    const h = await api(client, adminToken).history({ key: `_ctm/change-requests/${id}`, limit: 10 });
    expect(h.entries.map((x) => [x.message, x.principal])).toEqual([
      ["applied by token:dev2", "token:dev2"],
      ["approved by token:fin2 (2 of 2)", "token:fin2"],
      ["approved by token:fin (1 of 2): fine", "token:fin"],
      ["proposed: raise the daily limit", "token:dev"],
    ]);
    e = await rejects(dev.apply({ id }));
    expect(e.details).toBe("the change request is applied: it cannot be applied");
  });

  it("fails with ABORTED when a key changed after its base revision, writes nothing, shows the conflict; an edit rebases and resets the approvals", async () => {
    const dev = cr(t.dev);
    const { id } = (await dev.create({ title: "fee", operations: [set("pay/fee", 2), del("pay/new")] })).changeRequest!;
    await cr(t.fin).approve({ id });
    await cr(t.fin2).approve({ id });
    // Changed meanwhile, past the policy.
    const md = tokenMetadata(t.sre);
    md.set("ctm-break-glass", "incident");
    await new Promise((resolve, reject) => client.set({ key: "pay/fee", value: 5, author: "sre", message: "", expectedVersion: undefined, rollout: undefined }, md, (err, r) => (err ? reject(err) : resolve(r))));
    const before = (await api(client, t.dev).get({ key: "pay/new" })).entry!.revision;

    const e = await rejects(dev.apply({ id }));
    expect([e.code, e.details]).toEqual([grpc.status.ABORTED, expect.stringMatching(/^"pay\/fee" changed after revision \d+, which the change request was written against: its author rebases it by editing it/)]);
    expect((await api(client, t.dev).get({ key: "pay/fee" })).value).toBe(5);
    expect((await api(client, t.dev).get({ key: "pay/new" })).entry!.revision).toBe(before);
    const failed = (await dev.get({ id })).changeRequest!;
    expect(failed).toMatchObject({ state: State.CHANGE_REQUEST_STATE_FAILED, conflict: e.details });

    expect((await rejects(cr(t.dev2).edit({ id, baseRevision: 0 }))).code).toBe(grpc.status.PERMISSION_DENIED);
    const rebased = (await dev.edit({ id, baseRevision: 0 })).changeRequest!;
    expect(rebased).toMatchObject({ state: State.CHANGE_REQUEST_STATE_IN_REVIEW, approvals: [], conflict: "" });
    await cr(t.fin).approve({ id });
    await cr(t.fin2).approve({ id });
    const done = await dev.apply({ id });
    expect(done.entries.map((x) => [x.key, x.deleted])).toEqual([
      ["pay/fee", false],
      ["pay/new", true],
    ]);
  });

  it("carries Apply's rollout plans: checked when made (INVALID_ARGUMENT naming the field), shown as given, built when applied", async () => {
    const dev = cr(t.dev);
    const steps = (interval: number) => ({ $case: "steps", value: { start: 10, increment: 10, interval: { seconds: interval, nanos: 0 }, target: 100 } });
    const bad = await rejects(dev.create({ title: "r", operations: [{ operation: { $case: "set", value: { key: "pay/flag", value: true, rollout: { stable: false, percentage: steps(0) } } } }] }));
    expect([bad.code, bad.details]).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringMatching(/^operations\[0\]\.set\.rollout\.steps\.interval: /)]);
    const made = (await dev.create({ title: "roll out", operations: [{ operation: { $case: "set", value: { key: "pay/flag", value: true, rollout: { stable: false, percentage: steps(600) } } } }] })).changeRequest!;
    const op = (await dev.get({ id: made.id })).changeRequest!.operations[0]!.operation;
    expect(op?.$case === "set" && op.value.rollout).toMatchObject({ stable: false, percentage: { $case: "steps", value: { start: 10, increment: 10, interval: { seconds: 600 }, target: 100 } } });
    await cr(t.fin).approve({ id: made.id });
    await cr(t.fin2).approve({ id: made.id });
    const [entry] = (await dev.apply({ id: made.id })).entries;
    expect(entry).toMatchObject({ key: "pay/flag", value: true, changeRequest: made.id, rollout: { plan: { stable: false }, state: { milestones: 0 } } });
  });

  it("starts as a draft when asked: not reviewed until its author submits it", async () => {
    const dev = cr(t.dev);
    const { id, state } = (await dev.create({ title: "wip", operations: [set("pay/fee", 7)], draft: true })).changeRequest!;
    expect(state).toBe(State.CHANGE_REQUEST_STATE_DRAFT);
    expect((await rejects(cr(t.fin).approve({ id }))).details).toBe("the change request is draft: it cannot be approved");
    expect((await dev.edit({ id, operations: [set("pay/fee", 8)], baseRevision: 0 })).changeRequest!.state).toBe(State.CHANGE_REQUEST_STATE_DRAFT);
    expect((await rejects(cr(t.dev2).submit({ id }))).code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await dev.submit({ id })).changeRequest!.state).toBe(State.CHANGE_REQUEST_STATE_IN_REVIEW);
    expect((await cr(t.fin).approve({ id })).changeRequest!.approvals).toHaveLength(1);
    await dev.cancel({ id });
  });

  it("rejects and cancels; lists by state and prefix; a Watch on the reserved prefix follows every change", async () => {
    const events: WatchResponse[] = [];
    const w = client.watch({ key: "_ctm/change-requests/", prefix: true, startRevision: 0 }, tokenMetadata(adminToken));
    w.on("data", (r: WatchResponse) => events.push(r));
    w.on("error", () => undefined);
    const dev = cr(t.dev);
    const a = (await dev.create({ title: "a", operations: [set("pay/fee", 3)] })).changeRequest!.id;
    const b = (await dev.create({ title: "b", operations: [set("pay/fee", 4)] })).changeRequest!.id;
    expect((await cr(t.fin).reject({ id: a, comment: "no" })).changeRequest).toMatchObject({ state: State.CHANGE_REQUEST_STATE_REJECTED, rejection: { principal: "token:fin", comment: "no" } });
    expect((await rejects(dev.approve({ id: a }))).code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await rejects(cr(t.fin).approve({ id: a }))).details).toBe("the change request is rejected: it cannot be approved");
    expect((await rejects(cr(t.dev2).cancel({ id: b }))).code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await dev.cancel({ id: b, comment: "later" })).changeRequest!.state).toBe(State.CHANGE_REQUEST_STATE_CANCELLED);

    const listed = await cr(t.fin).list({ prefix: "pay/" });
    expect(listed.changeRequests.slice(0, 2).map((x) => x.id)).toEqual([b, a]);
    expect((await cr(t.fin).list({ prefix: "pay/", state: State.CHANGE_REQUEST_STATE_REJECTED })).changeRequests.map((x) => x.id)).toEqual([a]);
    expect((await rejects(cr(t.fin).list({ prefix: "" }))).code).toBe(grpc.status.PERMISSION_DENIED);

    const deadline = Date.now() + 10_000;
    const seen = () => events.flatMap((r) => r.events);
    while (seen().filter((x) => x.key.endsWith(a) || x.key.endsWith(b)).length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    w.cancel();
    expect(seen().filter((x) => x.key.endsWith(a) || x.key.endsWith(b)).map((x) => x.message)).toEqual(["proposed: a", "proposed: b", "rejected by token:fin: no", "cancelled: later"]);
  });
});

describe("a scheduled change request", () => {
  it("is applied by the scheduler once at its time, also when the daemon was down then", async () => {
    const d = await Daemon.start({ args: ["--scheduler-interval-ms", "100"] });
    const connectAll = () => {
      const c = connect(d.address);
      const x = new crpb.ChangeRequestServiceClient(d.address, grpc.credentials.createInsecure());
      const u =
        <Req, Res>(fn: (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (e: grpc.ServiceError | null, r: Res) => void) => grpc.ClientUnaryCall, type: { fromPartial(o: object): Req }) =>
        (r: object): Promise<Res> =>
          call(fn.bind(x), type.fromPartial(r));
      return {
        c,
        x,
        kv: api(c),
        create: u(x.createChangeRequest, crpb.CreateChangeRequestRequest),
        get: u(x.getChangeRequest, crpb.GetChangeRequestRequest),
        approve: u(x.approveChangeRequest, crpb.ApproveChangeRequestRequest),
        apply: u(x.applyChangeRequest, crpb.ApplyChangeRequestRequest),
        close: () => (c.close(), x.close()),
      };
    };
    try {
      let s = connectAll();
      await s.kv.set({ key: "pay/limit", value: 1 });
      await s.kv.set({ key: "_ctm/policies/pay", value: { keys: ["pay/**"], approvals: 2 } });
      const { id } = (await s.create({ title: "at night", operations: [set("pay/limit", 2)], author: "ann" })).changeRequest!;
      await s.approve({ id, author: "bo" });
      await s.approve({ id, author: "cy" });
      const at = new Date(Date.now() + 1500);
      const scheduled = (await s.apply({ id, author: "ann", at })).changeRequest!;
      expect(scheduled).toMatchObject({ state: State.CHANGE_REQUEST_STATE_SCHEDULED, scheduledAt: at });
      // Down at the scheduled moment.
      s.close();
      await d.stop();
      await new Promise((r) => setTimeout(r, Math.max(0, at.getTime() - Date.now()) + 300));
      await d.launch();
      s = connectAll();
      const deadline = Date.now() + 10_000;
      while ((await s.get({ id })).changeRequest!.state !== State.CHANGE_REQUEST_STATE_APPLIED && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect((await s.kv.get({ key: "pay/limit" })).value).toBe(2);
      // Once: the next ticks and another restart write nothing more.
      await new Promise((r) => setTimeout(r, 400));
      s.close();
      await d.restart();
      s = connectAll();
      await new Promise((r) => setTimeout(r, 400));
      const h = await s.kv.history({ key: "pay/limit", limit: 10 });
      expect(h.entries.map((e) => [e.value, e.changeRequest, e.principal])).toEqual([
        [2, id, "ctm-scheduler"],
        [1, "", ""],
      ]);
      const doc = await s.kv.history({ key: `_ctm/change-requests/${id}`, limit: 10 });
      expect(doc.entries.map((e) => e.message)).toEqual([
        "applied by ctm-scheduler",
        `scheduled by ann for ${at.toISOString()}`,
        "approved by cy (2 of 2)",
        "approved by bo (1 of 2)",
        "proposed: at night",
      ]);
      s.close();
    } finally {
      await d.dispose();
    }
  }, 60_000);
});
