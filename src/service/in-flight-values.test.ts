import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../domain/clock.js";
import { CtmError } from "../domain/errors.js";
import type { LogRecord } from "@ctm/core/record";
import type { RolloutInput } from "../domain/rollout/build-rollout.js";
import { LevelLogStore } from "../storage/level/level-log-store.js";
import { WatchHub } from "../watch/watch-hub.js";
import { ConfigService } from "./config-service.js";
import type { InFlightValues } from "./in-flight-values.js";
import { ValidatorService } from "./validator-service.js";

const T0 = Date.UTC(2024, 0, 1);
const STEPS: RolloutInput = { percentage: { kind: "steps", start: 10, increment: 10, intervalMs: 60_000, target: 100 } };

let dir: string;
let store: LevelLogStore;
let hub: WatchHub;
let validators: ValidatorService;
let svc: ConfigService;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-inflight-"));
  const clock = new ManualClock(T0);
  store = new LevelLogStore(dir, clock);
  await store.open();
  hub = new WatchHub(store);
  validators = new ValidatorService(store, clock);
  svc = new ConfigService(store, hub, clock, [validators]);
  validators.attach(svc);
});
afterEach(async () => {
  validators.close();
  hub.close();
  await store.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** The outcome of a write that may fail: its record, or its error. */
const settle = (p: Promise<LogRecord>): Promise<LogRecord | CtmError> => p.catch((e: unknown) => e as CtmError);

describe("Set-with-rollout decides its default stable value inside the commit", () => {
  it("concurrent Sets that group-commit with it: the stable value is the one immediately before it in revision order", async () => {
    await svc.set({ key: "flag", value: 0 });
    const batches = store.stats.batches;
    // Fired together: the first Set syncs alone, everything after it queues into the next batch,
    // so the rollout's predecessors are in flight (not durable) when it is decided.
    const writes: Promise<LogRecord>[] = [];
    for (let i = 1; i <= 5; i++) writes.push(svc.set({ key: "flag", value: i }));
    writes.push(svc.set({ key: "flag", value: 100, rollout: STEPS }));
    for (let i = 6; i <= 8; i++) writes.push(svc.set({ key: "flag", value: i }));
    const records = await Promise.all(writes);
    expect(store.stats.batches - batches, "the writes shared batches").toBeLessThan(writes.length);

    const rollout = records[5]!;
    const before = records.find((r) => r.revision === rollout.revision - 1)!;
    expect(before.value).toBe(5);
    expect(rollout.rollout!.plan.stable).toBe(before.value);
    // And what is stored is what was acknowledged.
    expect((await store.version("flag", rollout.version))!.rollout!.plan.stable).toBe(5);
  });

  it("a rolling predecessor in the same batch hands on its stable value, not its new value", async () => {
    await svc.set({ key: "k", value: "v1" });
    const first = svc.set({ key: "k", value: "v2" });
    const rolling = svc.set({ key: "k", value: "v3", rollout: { ...STEPS, stable: "pinned" } });
    const next = svc.set({ key: "k", value: "v4", rollout: STEPS });
    const [, , r] = await Promise.all([first, rolling, next]);
    expect(r.rollout!.plan.stable).toBe("pinned");
  });

  it("a predecessor written by another writer and not yet durable is a conflict to retry, never a guess", async () => {
    await svc.set({ key: "k", value: "old" });
    // The scheduler and the health loop commit straight to the store.
    const other = store.commit(() => [{ key: "k", value: "theirs", deleted: false, kind: "set", author: "x", message: "", cause: "scheduler" }]);
    const guessed = settle(svc.set({ key: "k", value: "new", rollout: STEPS }));
    const explicit = svc.set({ key: "k", value: "new", rollout: { ...STEPS, stable: "given" } });
    await other;
    const err = await guessed;
    expect(err).toBeInstanceOf(CtmError);
    expect((err as CtmError).code).toBe("conflict");
    expect((await explicit).rollout!.plan.stable).toBe("given");
    // Once durable, the same request takes it.
    expect((await svc.set({ key: "k", value: "new2", rollout: STEPS })).rollout!.plan.stable).toBe("given");
  });
});

describe("validators run inside the commit", () => {
  it("check the stable value the rollout actually stores, even one still in flight", async () => {
    await validators.set({ name: "max-100", keys: ["limit"], rules: [{ path: "", kind: "range", max: 100 }], description: "" }, false, {});
    await svc.set({ key: "limit", value: 5 });
    // An unguarded write (SetValidator's force path) puts 500 in flight...
    const forced = svc.setUnguarded({ key: "limit", value: 500 });
    // ...so the rollout's default stable is 500, and the validator must see that.
    const rollout = settle(svc.set({ key: "limit", value: 50, rollout: STEPS }));
    await forced;
    const err = await rollout;
    expect(err).toBeInstanceOf(CtmError);
    expect((err as CtmError).code).toBe("invalid_argument");
    expect((err as CtmError).field).toBe("rollout.stable");
    expect(store.latest("limit")!.value).toBe(500);
  });

  it("the in-flight map empties once the writes are durable or refused", async () => {
    const done = [svc.set({ key: "a", value: 1 }), svc.set({ key: "b", value: 2 }), settle(svc.set({ key: "c", value: 1, rollout: {} }))];
    await Promise.all(done);
    expect((svc as unknown as { inFlight: { size: number } }).inFlight.size).toBe(0);
  });
});

describe("a large batch's hold", () => {
  it("is let go over the turns after its commit, and reads answer the same meanwhile", async () => {
    const n = 20_000;
    for (let b = 0; b < n; b += 1000) await svc.apply(Array.from({ length: 1000 }, (_, i) => ({ type: "set" as const, key: `bulk/${b + i}`, value: b + i })), { author: "t" });
    const past = store.headRevision;
    for (let b = 0; b < n; b += 1000) await svc.apply(Array.from({ length: 1000 }, (_, i) => ({ type: "set" as const, key: `bulk/${b + i}`, value: "changed" })), { author: "t" });
    const inFlight = (svc as unknown as { inFlight: InFlightValues }).inFlight;
    // Back to version 1's value of every key, in one batch committed alone.
    await svc.rollbackPrefix("bulk/", { revision: past }, { author: "t" });
    const left = inFlight.size;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(n);
    // The last key of the batch (in key order) is let go last: it is still held, and reads the
    // stable value of the version the store has.
    const key = "bulk/9999";
    expect(store.latest(key)!.version).toBe(3);
    await svc.set({ key, value: "next", rollout: STEPS });
    expect(store.latest(key)!.rollout!.plan.stable).toBe(Number(key.slice("bulk/".length)));
    while (inFlight.size > 0) await new Promise((r) => setImmediate(r));
  });
});
