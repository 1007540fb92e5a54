import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../domain/clock.js";
import type { Draft, RecordKind } from "@ctm/core/record";
import type { Rollout } from "@ctm/core/rollout/plan";
import { LevelLogStore } from "../storage/level/level-log-store.js";
import { ReadStats } from "./read-stats.js";
import { staleKeys } from "./stale-keys.js";

const T0 = Date.UTC(2025, 0, 1);
const DAY = 86_400_000;
let dir: string;
let clock: ManualClock;
let store: LevelLogStore;
let reads: ReadStats;

const rollout = (killed: boolean): Rollout => ({
  plan: { stable: "old", salt: "s", earlyAdopters: [], pinned: [], rules: [], variants: [{ name: "a", weight: 1, value: "a" }], interpolate: false },
  state: { startedAt: T0, shiftMs: 0, promotedRings: 0, killed, milestones: 0 },
});
const write = (key: string, extra: Partial<Draft> = {}) => store.commit(() => [{ key, value: "new", deleted: false, author: "a", message: "", kind: "set" as RecordKind, cause: "api", ...extra }]);
const page = async (q: Partial<Parameters<typeof staleKeys>[3]> = {}) =>
  (await staleKeys(store, reads, clock, { prefix: "", unreadForMs: 30 * DAY, pageSize: 0, pageToken: "", ...q })).keys.map((k) => `${k.record.key}: ${k.reason}`);

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-stale-"));
  clock = new ManualClock(T0);
  store = new LevelLogStore(dir, clock);
  await store.open();
  reads = new ReadStats(store, clock);
  await reads.load();
});
afterEach(async () => {
  await reads.close();
  await store.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe("staleKeys", () => {
  it("reports keys unread and unchanged for the window, counting from when reads were first counted", async () => {
    await write("a");
    await write("b");
    await write("c");
    clock.advance(20 * DAY);
    reads.touch("a", clock.now());
    clock.advance(20 * DAY);
    await write("c");
    // 40 days in: b was never read; a was read 20 days ago; c changed just now.
    expect(await page()).toEqual(["b: unread"]);
    expect(await page({ unreadForMs: 10 * DAY })).toEqual(["a: unread", "b: unread"]);
    // Counts saved and read back: a new counter knows a was read.
    await reads.flush();
    const again = new ReadStats(store, clock);
    await again.load();
    expect(again.of("a")).toEqual({ reads: 1, lastRead: T0 + 20 * DAY });
    expect(again.since).toBe(T0);
  });

  it("reports a killed rollout, and a finished one whose A/B split still runs, whatever their reads", async () => {
    await write("killed", { rollout: rollout(true), kind: "rollout_killed" });
    await write("ab", { rollout: rollout(false), kind: "rollout_finalized" });
    await write("rolling", { rollout: rollout(false), kind: "set" });
    for (const k of ["killed", "ab", "rolling"]) reads.touch(k, clock.now());
    expect(await page()).toEqual([
      `ab: rollout finished ${new Date(T0).toISOString()}: its A/B split still runs; pick a variant and set it as a plain value`,
      "killed: rollout killed: everyone gets the stable value; set it as a plain value (or resume)",
    ]);
  });

  it("refuses a token it did not issue", async () => {
    await expect(page({ pageToken: "bm9wZQ" })).rejects.toMatchObject({ code: "invalid_argument", field: "page_token" });
  });
});
