/**
 * Retry, deadline and error semantics against a scripted gRPC server (the daemon's own
 * service definitions, answering whatever each test scripts), so every path is exercised
 * deterministically.
 */
import { once } from "node:events";
import { createServer, type Socket } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { ConfigServiceService } from "../../src/gen/ctm/v1/config_service.js";
import { RolloutServiceService } from "../../src/gen/ctm/v1/rollout_service.js";
import { backoffDelay, CtmError, isRetrySafe } from "../../clients/ts/src/index.js";
import { client, defer } from "./helpers.js";

type Outcome = grpc.status; // OK answers an empty response

interface Call {
  method: string;
  request: unknown;
  metadata: grpc.Metadata;
}

/** A server whose every method answers the scripted outcomes in turn (then OK). */
async function scriptedServer(script: Record<string, Outcome[]>, trailers?: Record<string, string>) {
  const calls: Call[] = [];
  type Def = { path: string; responseDeserialize: (b: Buffer) => unknown };
  const handler = (method: string, d: Def) => (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
    calls.push({ method, request: call.request, metadata: call.metadata });
    const code = script[method]?.shift() ?? grpc.status.OK;
    if (code === grpc.status.OK) return cb(null, d.responseDeserialize(Buffer.alloc(0))); // an all-defaults response
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(trailers ?? {})) md.set(k, v);
    cb({ code, details: `scripted ${grpc.status[code]}`, metadata: md });
  };
  const impl = (def: Record<string, Def>, prefix: string) =>
    Object.fromEntries(Object.entries(def).map(([name, d]) => [name, handler(prefix + d.path.split("/").pop()!, d)]));
  const server = new grpc.Server();
  server.addService(ConfigServiceService, impl(ConfigServiceService, ""));
  server.addService(RolloutServiceService, impl(RolloutServiceService, "Rollout."));
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  defer(() => server.forceShutdown());
  const count = (method: string) => calls.filter((c) => c.method === method).length;
  return { address: `127.0.0.1:${port}`, calls, count };
}

const U = grpc.status.UNAVAILABLE;

describe("retries on UNAVAILABLE", () => {
  it("reads are retried until they succeed, each retry reported to onRetry", async () => {
    const s = await scriptedServer({ Get: [U, U], Snapshot: [U], History: [U], Diff: [U], Blame: [U], GetAt: [U], "Rollout.Status": [U], "Rollout.Explain": [U] });
    const retries: string[] = [];
    const c = client(s.address, { onRetry: (r) => retries.push(`${r.method}#${r.attempt}:${r.error.codeName}`) });
    await c.get("k");
    await c.snapshot({ prefix: "p/" });
    await c.history("k");
    await c.diff("k");
    await c.blame("k");
    await c.getAt("k", { revision: 1 });
    await c.rollouts.status("k");
    await c.rollouts.explain("k", { unitId: "u" });
    expect(s.count("Get")).toBe(3);
    for (const m of ["Snapshot", "History", "Diff", "Blame", "GetAt", "Rollout.Status", "Rollout.Explain"]) expect(s.count(m), m).toBe(2);
    expect(retries).toContain("Get#1:UNAVAILABLE");
    expect(retries).toContain("Get#2:UNAVAILABLE");
    expect(retries).toHaveLength(9);
  });

  it("writes without expectedVersion are sent once: UNAVAILABLE reaches the caller", async () => {
    const s = await scriptedServer({ Set: [U], Delete: [U], Rollback: [U], RollbackPrefix: [U], Apply: [U], "Rollout.Pause": [U], "Rollout.Kill": [U] });
    const c = client(s.address);
    const fails = [
      c.set("k", 1),
      c.delete("k"),
      c.rollback("k"),
      c.rollbackPrefix("p/", { revision: 1 }),
      c.apply([{ set: { key: "a", value: 1, expectedVersion: 3 } }, { delete: { key: "b" } }]), // one unguarded op is enough
      c.rollouts.pause("k"),
      c.rollouts.kill("k"),
    ];
    for (const p of fails) {
      const e = await p.catch((x: unknown) => x);
      expect(e).toBeInstanceOf(CtmError);
      expect((e as CtmError).code).toBe(U);
      expect((e as CtmError).attempts).toBe(1);
    }
    for (const m of ["Set", "Delete", "Rollback", "RollbackPrefix", "Apply", "Rollout.Pause", "Rollout.Kill"]) expect(s.count(m), m).toBe(1);
  });

  it("writes with expectedVersion (compare-and-set) are retried, Apply when every operation is guarded", async () => {
    const s = await scriptedServer({ Set: [U], Delete: [U], Rollback: [U], Apply: [U], "Rollout.Pause": [U], "Rollout.Resume": [U], "Rollout.Promote": [U], "Rollout.Abort": [U], "Rollout.Kill": [U] });
    const c = client(s.address);
    await c.set("k", 1, { expectedVersion: 0 });
    await c.delete("k", { expectedVersion: 1 });
    await c.rollback("k", { expectedVersion: 2 });
    await c.apply([{ set: { key: "a", value: 1, expectedVersion: 0 } }, { delete: { key: "b", expectedVersion: 4 } }]);
    for (const f of ["pause", "resume", "promote", "abort", "kill"] as const) await c.rollouts[f]("k", { expectedVersion: 7 });
    for (const m of ["Set", "Delete", "Rollback", "Apply", "Rollout.Pause", "Rollout.Resume", "Rollout.Promote", "Rollout.Abort", "Rollout.Kill"]) {
      expect(s.count(m), m).toBe(2);
    }
    // The guard really goes over the wire, on every attempt.
    expect(s.calls.filter((x) => x.method === "Set").map((x) => (x.request as { expectedVersion?: number }).expectedVersion)).toEqual([0, 0]);
  });

  it("a retried compare-and-set answered ABORTED is flagged maybeCommitted (the first attempt may have landed)", async () => {
    const s = await scriptedServer({ Set: [U, grpc.status.ABORTED, grpc.status.ABORTED] }, { "ctm-expected": "3", "ctm-actual": "4" });
    const c = client(s.address);
    const e = (await c.set("k", 1, { expectedVersion: 3 }).catch((x: unknown) => x)) as CtmError;
    expect(e).toBeInstanceOf(CtmError);
    expect(e.code).toBe(grpc.status.ABORTED);
    expect(e.maybeCommitted).toBe(true);
    expect(e.attempts).toBe(2);
    expect([e.expectedVersion, e.actualVersion]).toEqual([3, 4]);
    // Without a retry before it, ABORTED is a plain conflict.
    const plain = (await c.set("k", 1, { expectedVersion: 3 }).catch((x: unknown) => x)) as CtmError;
    expect(plain.maybeCommitted).toBe(false);
  });

  it("other codes are not retried, maxAttempts bounds retries, and retry: false turns them off", async () => {
    const s = await scriptedServer({ Get: [grpc.status.INTERNAL, U, U, U, U, U, U], Snapshot: [U] });
    const c = client(s.address, { retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 5 } });
    expect(((await c.get("k").catch((x: unknown) => x)) as CtmError).code).toBe(grpc.status.INTERNAL);
    expect(s.count("Get")).toBe(1);
    const e = (await c.get("k").catch((x: unknown) => x)) as CtmError;
    expect([e.code, e.attempts]).toEqual([U, 3]);
    expect(s.count("Get")).toBe(4);
    expect(((await c.snapshot({ retry: false }).catch((x: unknown) => x)) as CtmError).attempts).toBe(1);
  });

  it("sends x-request-id and extra metadata, and decodes the ctm trailers", async () => {
    const s = await scriptedServer({ Set: [grpc.status.INVALID_ARGUMENT] }, { "ctm-field": "key", "ctm-request-id": "r-9" });
    const c = client(s.address);
    const e = (await c.set("k", 1, { requestId: "req-42", metadata: { "x-team": "payments" } }).catch((x: unknown) => x)) as CtmError;
    expect(e).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, codeName: "INVALID_ARGUMENT", field: "key", requestId: "r-9", method: "Set" });
    expect(s.calls[0]!.metadata.get("x-request-id")).toEqual(["req-42"]);
    expect(s.calls[0]!.metadata.get("x-team")).toEqual(["payments"]);
  });
});

describe("deadlines", () => {
  it("a daemon that never answers fails the call with DEADLINE_EXCEEDED at the per-call deadline", async () => {
    // Accepts TCP connections and never speaks HTTP/2.
    const sockets: Socket[] = [];
    const hole = createServer((s) => sockets.push(s)).listen(0, "127.0.0.1");
    await once(hole, "listening");
    defer(() => {
      for (const s of sockets) s.destroy();
      hole.close();
    });
    const c = client(`127.0.0.1:${(hole.address() as { port: number }).port}`);
    const e = (await c.get("k", { deadlineMs: 300 }).catch((x: unknown) => x)) as CtmError;
    expect(e).toBeInstanceOf(CtmError);
    expect(e.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  });

  it("the deadline bounds retries: an always-UNAVAILABLE read gives up before maxAttempts", async () => {
    const s = await scriptedServer({ Get: Array<Outcome>(1000).fill(U) });
    const c = client(s.address, { retry: { maxAttempts: 1000, initialBackoffMs: 50, maxBackoffMs: 50, jitter: 0 } });
    const e = (await c.get("k", { deadlineMs: 400 }).catch((x: unknown) => x)) as CtmError;
    // UNAVAILABLE when the next backoff would pass the deadline; DEADLINE_EXCEEDED when it ran out during an attempt.
    expect([U, grpc.status.DEADLINE_EXCEEDED]).toContain(e.code);
    expect(e.attempts).toBeGreaterThan(1);
    expect(e.attempts).toBeLessThan(1000);
    expect(s.count("Get")).toBeLessThanOrEqual(e.attempts);
  });

  it("an abort signal cancels a call", async () => {
    const s = await scriptedServer({ Get: Array<Outcome>(1000).fill(U) });
    const c = client(s.address, { retry: { maxAttempts: 1000, initialBackoffMs: 20, maxBackoffMs: 20 } });
    const stop = new AbortController();
    const p = c.get("k", { signal: stop.signal, deadlineMs: 60_000 }).catch((x: unknown) => x);
    while (s.count("Get") < 2) await new Promise((r) => setTimeout(r, 10));
    stop.abort();
    expect(((await p) as CtmError).code).toBe(grpc.status.CANCELLED);
  });
});

describe("the retry rule and the backoff", () => {
  it("isRetrySafe: reads always, writes only with expectedVersion, Apply only fully guarded, RollbackPrefix never", () => {
    for (const m of ["Get", "GetAt", "History", "Diff", "Blame", "Snapshot", "Rollout.Status", "Rollout.Explain"]) expect(isRetrySafe(m, {}), m).toBe(true);
    for (const m of ["Set", "Delete", "Rollback", "Rollout.Pause", "Rollout.Resume", "Rollout.Promote", "Rollout.Abort", "Rollout.Kill"]) {
      expect(isRetrySafe(m, { expectedVersion: undefined }), m).toBe(false);
      expect(isRetrySafe(m, { expectedVersion: 0 }), m).toBe(true);
    }
    const op = (expectedVersion?: number) => ({ operation: { $case: "set", value: { key: "k", expectedVersion } } });
    expect(isRetrySafe("Apply", { operations: [op(1), op(0)] })).toBe(true);
    expect(isRetrySafe("Apply", { operations: [op(1), op(undefined)] })).toBe(false);
    expect(isRetrySafe("Apply", { operations: [] })).toBe(false);
    expect(isRetrySafe("RollbackPrefix", { expectedVersion: 1 })).toBe(false);
  });

  it("backoff grows exponentially to the cap, with jitter inside [base * (1 - jitter), base]", () => {
    const p = { initialBackoffMs: 100, maxBackoffMs: 1000, multiplier: 2, jitter: 0.5 };
    expect([0, 1, 2, 3, 4, 5].map((a) => backoffDelay(p, a, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect([0, 1, 2, 3, 4, 5].map((a) => backoffDelay(p, a, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    for (let a = 0; a < 8; a++) {
      const d = backoffDelay(p, a);
      const base = Math.min(1000, 100 * 2 ** a);
      expect(d).toBeGreaterThanOrEqual(base / 2);
      expect(d).toBeLessThanOrEqual(base);
    }
  });
});
