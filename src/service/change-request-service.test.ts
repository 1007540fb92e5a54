import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../domain/clock.js";
import { LevelLogStore } from "../storage/level/level-log-store.js";
import { WatchHub } from "../watch/watch-hub.js";
import { ChangeRequestService } from "./change-request-service.js";
import { ConfigService } from "./config-service.js";
import { PolicyService } from "./policy-service.js";
import { ProtectedStore } from "./protected-store.js";

const T0 = Date.UTC(2025, 5, 1, 22, 0);
const dirs: string[] = [];
const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

/** The services over a real store in `dir`, as the daemon wires them, on an injected clock. */
async function daemonOn(dir: string, clock: ManualClock) {
  const store = new LevelLogStore(dir, clock);
  await store.open();
  const hub = new WatchHub(store);
  const policies = new PolicyService(store);
  const writes = new ProtectedStore(store, policies.pass);
  const config = new ConfigService(writes, hub, clock, [policies]);
  const changes = new ChangeRequestService(writes, config, policies, clock);
  const close = async () => {
    policies.close();
    hub.close();
    await store.close();
  };
  open.push(close);
  return { store, config, changes, close: async () => (open.splice(open.indexOf(close), 1), await close()) };
}

describe("ChangeRequestService.applyDue, on an injected clock", () => {
  it("applies a scheduled request once its time comes, once, also when the store was closed at that moment", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-cr-"));
    dirs.push(dir);
    const clock = new ManualClock(T0);
    let d = await daemonOn(dir, clock);
    await d.config.set({ key: "pay/limit", value: 1 });
    await d.config.set({ key: "_ctm/policies/pay", value: { keys: ["pay/**"], approvals: 2 } });
    const { id } = await d.changes.create({ title: "tonight", description: "", operations: [{ type: "set", key: "pay/limit", value: 2 }], baseRevision: 0, author: "ann" });
    await d.changes.approve({ id, author: "bo" });
    await d.changes.approve({ id, author: "cy" });
    const at = T0 + 3_600_000;
    expect((await d.changes.apply({ id, author: "ann", at })).change.cr).toMatchObject({ state: "scheduled", scheduledAt: at });

    clock.advance(3_599_999);
    expect(await d.changes.applyDue()).toEqual([]);
    expect(d.store.latest("pay/limit")!.value).toBe(1);

    // Closed across the moment, and opened after it: the first pass applies it.
    await d.close();
    clock.advance(60_000);
    d = await daemonOn(dir, clock);
    const [done] = await d.changes.applyDue();
    expect(done).toMatchObject({ id, records: [expect.objectContaining({ key: "pay/limit", value: 2, changeRequest: id, principal: "ctm-scheduler" })] });
    expect(d.changes.get(id).cr.state).toBe("applied");
    // Once: later passes, and another reopening, find nothing due.
    clock.advance(1000);
    expect(await d.changes.applyDue()).toEqual([]);
    await d.close();
    d = await daemonOn(dir, clock);
    expect(await d.changes.applyDue()).toEqual([]);
    expect((await d.store.history("pay/limit", 10)).map((r) => r.value)).toEqual([2, 1]);
  });

  it("marks a scheduled request failed when a key changed after its base, and writes none of it", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-cr-"));
    dirs.push(dir);
    const clock = new ManualClock(T0);
    const d = await daemonOn(dir, clock);
    await d.config.set({ key: "pay/a", value: 1 });
    const { id } = await d.changes.create({ title: "t", description: "", operations: [{ type: "set", key: "pay/a", value: 2 }, { type: "set", key: "pay/b", value: 2 }], baseRevision: 0, author: "ann" });
    await d.changes.approve({ id, author: "bo" });
    await d.changes.apply({ id, author: "ann", at: T0 + 1000 });
    await d.config.set({ key: "pay/a", value: 5 });
    clock.advance(1000);
    const [r] = await d.changes.applyDue();
    expect(r).toMatchObject({ id, error: expect.objectContaining({ code: "conflict" }) });
    expect(d.changes.get(id).cr).toMatchObject({ state: "failed", conflict: expect.stringMatching(/^"pay\/a" changed after revision 1/) });
    expect(d.store.latest("pay/b")).toBeUndefined();
    expect(await d.changes.applyDue()).toEqual([]);
  });
});
