import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../domain/clock.js";
import { CtmError } from "../domain/errors.js";
import { ConfigService } from "../service/config-service.js";
import { Metrics } from "../service/metrics.js";
import { RolloutService } from "../service/rollout-service.js";
import { LevelLogStore } from "../storage/level/level-log-store.js";
import { WatchHub } from "../watch/watch-hub.js";
import { RolloutScheduler } from "./rollout-scheduler.js";

const T0 = Date.UTC(2024, 0, 1);
const MIN = 60_000;

let dir: string;
let clock: ManualClock;
let store: LevelLogStore;
let hub: WatchHub;
let rollouts: RolloutService;
let metrics: Metrics;
let lines: Record<string, unknown>[];
let scheduler: RolloutScheduler;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-scheduler-"));
  clock = new ManualClock(T0);
  store = new LevelLogStore(dir, clock);
  await store.open();
  hub = new WatchHub(store);
  rollouts = new RolloutService(store, clock);
  metrics = new Metrics();
  lines = [];
  const log = pino({}, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  scheduler = new RolloutScheduler(rollouts, log, 1000, metrics);
});
afterEach(async () => {
  await scheduler.close();
  rollouts.close();
  hub.close();
  await store.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe("RolloutScheduler when the store refuses its writes", () => {
  it("logs a structured error and counts it, instead of swallowing it", async () => {
    const config = new ConfigService(store, hub, clock);
    await config.set({ key: "k", value: "new", rollout: { stable: "old", percentage: { kind: "steps", start: 10, increment: 10, intervalMs: MIN, target: 100 } } });
    clock.advance(5 * MIN);
    // The store goes away with milestones due: every commit is refused (unavailable).
    await store.close();
    const err = await scheduler.tick().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CtmError);
    expect((err as CtmError).code).toBe("unavailable");
    const failed = lines.filter((l) => l.level === 50);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.msg).toMatch(/rollout scheduler tick failed/);
    expect((failed[0]!.err as { message: string }).message).toMatch(/store/);
    expect(await metrics.registry.getSingleMetricAsString("ctm_background_failures_total")).toContain('ctm_background_failures_total{loop="scheduler"} 1');
  });

  it("a tick with nothing due writes nothing and logs nothing", async () => {
    expect(await scheduler.tick()).toEqual([]);
    expect(lines).toEqual([]);
  });
});
