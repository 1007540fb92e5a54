/** CtmClient against a real ctmd: every RPC of ConfigService and RolloutService, typed, values as plain JSON. */
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { CtmError, PbReason, RecordKind } from "../../clients/ts/src/index.js";
import { client, startDaemon, until } from "./helpers.js";

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

describe("CtmClient: ConfigService", () => {
  it("Set, Get, Delete, History, Diff, Blame, Rollback, GetAt, Snapshot, Apply, RollbackPrefix", async () => {
    const daemon = await startDaemon();
    const c = client(daemon.address, { author: "sdk-bot" });

    const v1 = await c.set("pay/fee", { pct: 1.5, cap: 30 }, { author: "ana", message: "launch" });
    expect(v1.entry).toMatchObject({ key: "pay/fee", value: { pct: 1.5, cap: 30 }, version: 1, author: "ana", message: "launch", kind: RecordKind.RECORD_KIND_SET, cause: "api" });
    expect(v1.header!.revision).toBe(v1.entry!.revision);
    const v2 = await c.set("pay/fee", { pct: 1.4, cap: 30 }, { expectedVersion: 1 });
    expect(v2.entry).toMatchObject({ version: 2, author: "sdk-bot" }); // the client's default author

    const conflict = await fail(c.set("pay/fee", 0, { expectedVersion: 1 }));
    expect(conflict).toMatchObject({ code: grpc.status.ABORTED, expectedVersion: 1, actualVersion: 2, maybeCommitted: false });

    expect(await c.get("pay/fee")).toMatchObject({ value: { pct: 1.4, cap: 30 }, reason: PbReason.REASON_STATIC, entry: { version: 2 } });
    await c.set("pay/none", null);
    expect((await c.get("pay/none")).value).toBeNull();
    await c.set("pay/list", [1, "two", { three: [true, null] }]);
    expect((await c.get("pay/list")).value).toEqual([1, "two", { three: [true, null] }]);

    const h = await c.history("pay/fee", { limit: 1 });
    expect(h.entries.map((e) => e.version)).toEqual([2]);
    expect(h.nextPageToken).not.toBe("");
    const all = [];
    for await (const e of c.historyAll("pay/fee", { pageSize: 1 })) all.push(e.version);
    expect(all).toEqual([2, 1]);

    const d = await c.diff("pay/fee", { fromVersion: 1, toVersion: 2 });
    expect(d.operations).toEqual([{ op: "replace", path: "/pct", from: "", value: 1.4 }]);
    const b = await c.blame("pay/fee");
    expect(b.lines.map((l) => [l.path, l.version]).sort()).toEqual([["/cap", 1], ["/pct", 2]]);
    const cap = await c.blame("pay/fee", { path: "/cap" });
    expect([cap.lines.map((l) => [l.path, l.version]), cap.truncated]).toEqual([[["/cap", 1]], false]);

    const rb = await c.rollback("pay/fee", { message: "bad change" });
    expect(rb.entry).toMatchObject({ version: 3, value: { pct: 1.5, cap: 30 }, rolledBackTo: 1, kind: RecordKind.RECORD_KIND_ROLLBACK });

    expect((await c.getAt("pay/fee", { revision: v2.entry!.revision })).value).toEqual({ pct: 1.4, cap: 30 });
    expect((await c.getAt("pay/fee", { time: v1.entry!.time! })).value).toEqual({ pct: 1.5, cap: 30 });

    const snap = await c.snapshot({ prefix: "pay/" });
    expect(snap.entries.map((e) => e.key)).toEqual(["pay/fee", "pay/list", "pay/none"]);
    expect(snap.revision).toBe(rb.entry!.revision);

    const applied = await c.apply(
      [{ set: { key: "pay/limit", value: 500, expectedVersion: 0 } }, { delete: { key: "pay/none" } }, { set: { key: "pay/fee", value: { pct: 1.2 } } }],
      { message: "batch" },
    );
    expect(applied.entries.map((e) => [e.key, e.deleted, e.revision - applied.entries[0]!.revision])).toEqual([
      ["pay/limit", false, 0],
      ["pay/none", true, 1],
      ["pay/fee", false, 2],
    ]);

    const undo = await c.rollbackPrefix("pay/", { revision: snap.revision }, { message: "undo the batch" });
    expect(undo.revision).toBe(snap.revision);
    expect((await c.snapshot({ prefix: "pay/" })).entries.map((e) => [e.key, e.value])).toEqual([
      ["pay/fee", { pct: 1.5, cap: 30 }],
      ["pay/list", [1, "two", { three: [true, null] }]],
      ["pay/none", null],
    ]);

    const del = await c.delete("pay/list", { expectedVersion: 1 });
    expect(del.entry).toMatchObject({ deleted: true, kind: RecordKind.RECORD_KIND_DELETE });
    expect((await fail(c.get("pay/list"))).code).toBe(grpc.status.NOT_FOUND);

    const bad = await fail(c.set("", 1));
    expect(bad).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, field: "key", method: "Set" });
  });
});

describe("CtmClient: RolloutService", () => {
  it("Status, Explain, Pause, Resume, Promote, Kill, Abort", async () => {
    const daemon = await startDaemon();
    const c = client(daemon.address);
    await c.set("checkout.v2", false);
    await c.set("checkout.v2", true, {
      rollout: {
        earlyAdopters: ["alice"],
        percentage: { $case: "steps", value: { start: 10, increment: 10, interval: { seconds: 3600, nanos: 0 }, target: 100 } },
      },
    });
    const st = await c.rollouts.status("checkout.v2");
    expect(st).toMatchObject({ active: true, percentage: 10, paused: false, killed: false });
    expect(st.milestones.length).toBeGreaterThan(0);

    const ex = await c.rollouts.explain("checkout.v2", { unitId: "alice" });
    expect(ex).toMatchObject({ value: true, variant: "new", reason: PbReason.REASON_EARLY_ADOPTER });
    expect(ex.trace.length).toBeGreaterThan(0);

    expect((await c.rollouts.pause("checkout.v2", { author: "oncall", message: "errors up" })).entry).toMatchObject({ kind: RecordKind.RECORD_KIND_ROLLOUT_PAUSED, author: "oncall" });
    expect((await c.rollouts.status("checkout.v2")).paused).toBe(true);
    expect((await c.rollouts.resume("checkout.v2")).entry!.kind).toBe(RecordKind.RECORD_KIND_ROLLOUT_RESUMED);
    const promoted = await c.rollouts.promote("checkout.v2");
    expect(promoted.entry!.kind).toBe(RecordKind.RECORD_KIND_ROLLOUT_PROMOTED);
    expect((await c.rollouts.status("checkout.v2")).percentage).toBe(20);
    const killed = await c.rollouts.kill("checkout.v2", { expectedVersion: promoted.entry!.version });
    expect(killed.entry!.kind).toBe(RecordKind.RECORD_KIND_ROLLOUT_KILLED);
    expect(await c.get("checkout.v2", { context: { unitId: "alice" } })).toMatchObject({ value: false, reason: PbReason.REASON_ROLLED_BACK });
    await c.rollouts.resume("checkout.v2");
    expect((await c.rollouts.abort("checkout.v2")).entry).toMatchObject({ kind: RecordKind.RECORD_KIND_ROLLOUT_ABORTED, value: false });
    expect((await fail(c.rollouts.pause("checkout.v2"))).code).toBe(grpc.status.FAILED_PRECONDITION);

    await c.set("ramp", "v2", { rollout: { stable: "v1", percentage: { $case: "ramp", value: { from: 0, to: 100, duration: { seconds: 3600, nanos: 0 } } } } });
    expect((await c.rollouts.promote("ramp", { target: "finish" })).entry).toMatchObject({ value: "v2", rollout: undefined });
  });
});

describe("CtmClient: retries against a real daemon that restarts", () => {
  it("a read and a compare-and-set issued while the daemon is down succeed once it is back; a plain Set fails fast", async () => {
    const daemon = await startDaemon();
    const retried: string[] = [];
    const c = client(daemon.address, { retry: { maxAttempts: 10_000, initialBackoffMs: 20, maxBackoffMs: 200 }, onRetry: (r) => retried.push(r.method) });
    const v1 = await c.set("k", 1);
    await c.set("other", "x");
    await daemon.kill();

    const plain = await fail(c.set("k", "lost"));
    expect([plain.code, plain.attempts]).toEqual([grpc.status.UNAVAILABLE, 1]);
    const read = c.get("other", { deadlineMs: 60_000 });
    const cas = c.set("k", 2, { expectedVersion: v1.entry!.version, deadlineMs: 60_000 });
    await until(() => retried.includes("Get") && retried.includes("Set"), "both calls failed at least once");
    await daemon.launch();
    expect((await read).value).toBe("x");
    expect((await cas).entry).toMatchObject({ version: 2, value: 2 });
    expect(retried).not.toContain("Delete");
  });

  it("waitForReady sends a write once the daemon is reachable instead of failing fast", async () => {
    const daemon = await startDaemon();
    const c = client(daemon.address);
    await c.set("k", 1);
    await daemon.kill();
    // Once the client has seen the connection go (a plain Set fails fast): a call sent before
    // that could still go out on the dying connection, and a write sent is never sent again.
    expect((await fail(c.set("k", "lost"))).code).toBe(grpc.status.UNAVAILABLE);
    const w = c.set("k", 2, { waitForReady: true, deadlineMs: 60_000 }); // meets a closed port: without waitForReady it fails
    await daemon.launch();
    expect((await w).entry!.version).toBe(2);
  });
});
