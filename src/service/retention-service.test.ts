import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../domain/clock.js";
import type { JsonValue } from "@ctm/core/json";
import type { Draft, RecordKind } from "@ctm/core/record";
import { LevelLogStore } from "../storage/level/level-log-store.js";
import { RetentionService } from "./retention-service.js";

const T0 = Date.UTC(2025, 0, 1);
const MIN = 60_000;
const HOUR = 60 * MIN;

let dir: string;
let clock: ManualClock;
let store: LevelLogStore;
let retention: RetentionService;
let logged: Record<string, unknown>[];

const draft = (key: string, value: JsonValue, kind: RecordKind = "set"): Draft => ({ key, value, deleted: false, author: "t", message: "", kind, cause: "api" });
const write = (key: string, value: JsonValue, kind?: RecordKind) => store.commit(() => [draft(key, value, kind)]);
const versions = async (key: string) => (await store.history(key, 100)).map((r) => `${r.version}${r.valueCompacted ? "-" : ""}`);

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-retention-"));
  clock = new ManualClock(T0);
  store = new LevelLogStore(dir, clock);
  await store.open();
  logged = [];
  retention = new RetentionService(store, clock, (f) => logged.push(f));
});
afterEach(async () => {
  retention.close();
  await store.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe("RetentionService", () => {
  it("ages values and the audit trail from when each version was superseded, on their own clocks", async () => {
    await write("_ctm/retention/p", { keys: ["k/**"], keepForMs: HOUR, keepAuditForMs: 3 * HOUR });
    await write("k/a", 1);
    clock.advance(10 * MIN);
    await write("k/a", 2); // supersedes 1 at T0+10m
    clock.advance(110 * MIN);
    await write("k/a", 3); // supersedes 2 at T0+2h
    clock.advance(MIN);
    expect(await retention.compact({ author: "ops" })).toMatchObject({ removed: 0, stripped: 1 });
    expect(await versions("k/a")).toEqual(["3", "2", "1-"]);
    // Three hours after 2 was superseded, both older versions leave.
    clock.advance(3 * HOUR);
    expect(await retention.compact({ author: "ops" })).toMatchObject({ removed: 2, stripped: 0 });
    expect(await versions("k/a")).toEqual(["3"]);
    expect(retention.last).toMatchObject({ removed: 2, stripped: 0, horizon: store.latest("k/a")!.revision });
    expect(store.firstRevision).toBe(store.latest("k/a")!.revision);
  });

  it("takes the most careful verdict of every policy that covers a key, and nothing of keys no policy covers", async () => {
    await write("_ctm/retention/loose", { keys: ["**"], keepForMs: 0, keepAuditForMs: 0 });
    await write("_ctm/retention/careful", { keys: ["app/**"], keepVersions: 2 });
    for (let v = 1; v <= 4; v++) await write("app/x", v);
    for (let v = 1; v <= 2; v++) await write("other/y", v);
    await retention.compact({});
    // app/x: "loose" would remove 1-3; "careful" keeps the values of the last two: 3 stays whole,
    // and without an audit clock of its own careful keeps 1-2 as audit records.
    expect(await versions("app/x")).toEqual(["4", "3", "2-", "1-"]);
    expect(await versions("other/y")).toEqual(["2"]);
  });

  it("keeps what a rollout would go back to, and everything of held keys", async () => {
    await write("_ctm/retention/all", { keys: ["**"], keepForMs: 0, keepAuditForMs: 0 });
    await write("_ctm/holds/case", { keys: ["held/**"], reason: "audit 7" });
    for (let v = 1; v <= 3; v++) await write("held/z", v);
    await write("r/k", 1);
    await write("r/k", 2);
    await write("r/k", 3, "rollout_finalized");
    await retention.compact({});
    expect(await versions("held/z")).toEqual(["3", "2", "1"]);
    // Version 2 is the stable value a rollback of the finished rollout restores.
    expect(await versions("r/k")).toEqual(["3", "2"]);
    // Lifting the hold lets its versions go at the next run.
    await store.commit(() => [{ key: "_ctm/holds/case", deleted: true, author: "t", message: "", kind: "delete", cause: "api" }]);
    await retention.compact({});
    expect(await versions("held/z")).toEqual(["3"]);
  });

  it("reads a hold it cannot parse as covering every key, and a policy it cannot parse as none", async () => {
    await write("_ctm/retention/all", { keys: ["**"], keepForMs: 0, keepAuditForMs: 0 });
    await write("k/a", 1);
    await write("k/a", 2);
    // Written past the checks, as an older ctmd might have.
    await write("_ctm/holds/odd", { keys: "not a list" });
    expect(logged).toEqual([expect.objectContaining({ key: "_ctm/holds/odd" })]);
    expect(await retention.compact({})).toMatchObject({ removed: 0, stripped: 0 });
    expect(await versions("k/a")).toEqual(["2", "1"]);
    await write("_ctm/holds/odd", { keys: ["nothing/**"], reason: "fixed" });
    await write("_ctm/retention/all", { keys: ["**"], keepForMs: -5 });
    expect(retention.activePolicies).toEqual([]);
    expect(await retention.compact({})).toMatchObject({ removed: 0, stripped: 0 });
  });

  it("reports a run that strips values below the horizon without moving it, and says what it freed", async () => {
    await write("b/k", 1);
    await write("b/k", 2);
    await write("_ctm/retention/a", { keys: ["a/**"], keepForMs: 0 });
    await write("a/k", 1);
    await write("a/k", 2);
    const first = await retention.compact({});
    expect(first).toMatchObject({ stripped: 1, horizon: store.latest("a/k")!.revision });
    // b/k's first version was superseded below that horizon: a policy for it now leaves the horizon where it is.
    await write("_ctm/retention/b", { keys: ["b/**"], keepForMs: 0 });
    const second = await retention.compact({ author: "ops" });
    expect(second).toMatchObject({ horizon: first.horizon, previousHorizon: first.horizon, stripped: 1, removed: 0 });
    expect(second.report).toEqual({ revision: store.latest("_ctm/compactions")!.revision, time: store.latest("_ctm/compactions")!.time });
    expect(retention.last).toMatchObject({ revision: second.report!.revision, stripped: 1, bytesFreed: second.bytesFreed });
    expect(second.bytesFreed).toBeTypeOf("number");
  });
});
