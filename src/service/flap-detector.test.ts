import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../domain/clock.js";
import type { Draft } from "@ctm/core/record";
import { LevelLogStore } from "../storage/level/level-log-store.js";
import { FlapDetector, type FlappingKey } from "./flap-detector.js";

const T0 = Date.UTC(2025, 0, 1);
let dir: string;
let clock: ManualClock;
let store: LevelLogStore;
let told: FlappingKey[];
let flaps: FlapDetector;
const write = (key: string, cause = "api", author = "a") => store.commit(() => [{ key, value: 1, deleted: false, author, message: "", kind: "set", cause } satisfies Draft]);

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-flaps-"));
  clock = new ManualClock(T0);
  store = new LevelLogStore(dir, clock);
  await store.open();
  told = [];
  flaps = new FlapDetector(store, 3, 60_000, (k) => told.push(k));
});
afterEach(async () => {
  flaps.close();
  await store.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe("FlapDetector", () => {
  it("tells once when a key passes the changes allowed in the window, with its last authors, and lists it while it flaps", async () => {
    for (let i = 1; i <= 3; i++) {
      clock.advance(10_000);
      await write("k", "api", `dev-${i}`);
    }
    expect(told).toEqual([]);
    clock.advance(10_000);
    await write("k", "api", "dev-4");
    clock.advance(1000);
    await write("k", "api", "dev-5");
    expect(told).toEqual([{ key: "k", changes: 4, authors: ["dev-4", "dev-3", "dev-2", "dev-1"], since: T0 + 10_000 }]);
    expect(flaps.flapping(clock.now()).map((k) => [k.key, k.changes])).toEqual([["k", 4]]);
    // A minute of calm ends it.
    clock.advance(60_000);
    expect(flaps.flapping(clock.now())).toEqual([]);
  });

  it("counts only client writes: a rollout's milestones change keys on a schedule", async () => {
    for (let i = 0; i < 10; i++) await write("ramp", "scheduler");
    for (let i = 0; i < 3; i++) await write("ramp");
    expect(told).toEqual([]);
  });

  it("does not flap when the changes are spread wider than the window", async () => {
    for (let i = 0; i < 10; i++) {
      clock.advance(30_000);
      await write("slow");
    }
    expect(told).toEqual([]);
  });

  it("follows at most 10,000 keys, forgetting the oldest first, through a commit of 30,000", async () => {
    for (let i = 0; i < 3; i++) await write("early");
    await store.commit(() => Array.from({ length: 30_000 }, (_, i): Draft => ({ key: `bulk/${i}`, value: 1, deleted: false, author: "a", message: "", kind: "set", cause: "api" })));
    // Noted a slice per turn of the event loop, not all at once.
    expect(flaps.backlog).toBeGreaterThan(20_000);
    while (flaps.backlog > 0) await new Promise((r) => setImmediate(r));
    // "early" was forgotten with the oldest keys: its earlier changes no longer count.
    await write("early");
    expect(told).toEqual([]);
    // The newest bulk keys are still followed: three more changes make one flap.
    for (let i = 0; i < 3; i++) await write("bulk/29999");
    expect(told.map((k) => [k.key, k.changes])).toEqual([["bulk/29999", 4]]);
  });
});
