import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../domain/clock.js";
import { CtmError } from "../domain/errors.js";
import { ConfigService } from "../service/config-service.js";
import { HealthService } from "../service/health-service.js";
import { Metrics } from "../service/metrics.js";
import { LevelLogStore } from "../storage/level/level-log-store.js";
import { WatchHub } from "../watch/watch-hub.js";
import { HealthLoop } from "./health-loop.js";

const T0 = Date.UTC(2024, 0, 1);
const MIN = 60_000;

let dir: string;
let clock: ManualClock;
let store: LevelLogStore;
let hub: WatchHub;
let health: HealthService;
let config: ConfigService;
let metrics: Metrics;
let lines: Record<string, unknown>[];
let loop: HealthLoop;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-health-loop-"));
  clock = new ManualClock(T0);
  store = new LevelLogStore(dir, clock);
  await store.open();
  hub = new WatchHub(store);
  metrics = new Metrics();
  health = new HealthService(store, clock, metrics);
  config = new ConfigService(store, hub, clock, [health]);
  health.attach(config);
  lines = [];
  const log = pino({}, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  loop = new HealthLoop(health, log, 1000, metrics);
});
afterEach(async () => {
  await loop.close();
  health.close();
  hub.close();
  await store.close();
  await fs.rm(dir, { recursive: true, force: true });
});

async function breachingRollout(): Promise<void> {
  await health.set(
    { name: "errors", keys: ["k"], source: { kind: "pushed" }, maxErrorRate: 0.1, maxIncrease: 0, windowMs: MIN, minSamples: 1, failuresToAct: 1, action: "rollback", bakeMs: 0 },
    {},
  );
  await config.set({ key: "k", value: "new", rollout: { stable: "old", percentage: { kind: "steps", start: 10, increment: 10, intervalMs: MIN, target: 100 } } });
  health.report([{ key: "k", variant: "new", requests: 100, errors: 90 }]);
}

describe("HealthLoop", () => {
  it("acts on a breach with an auto-rollback", async () => {
    await breachingRollout();
    await loop.tick();
    expect(store.latest("k")).toMatchObject({ kind: "auto_rollback", value: "old" });
    expect(lines.filter((l) => l.msg === "health check breached")).toHaveLength(1);
  });

  it("an auto-rollback the store refuses is logged and counted, not swallowed", async () => {
    await breachingRollout();
    await store.close();
    const err = await loop.tick().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CtmError);
    expect((err as CtmError).code).toBe("unavailable");
    const failed = lines.filter((l) => l.level === 50);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.msg).toMatch(/health tick failed/);
    expect(await metrics.registry.getSingleMetricAsString("ctm_background_failures_total")).toContain('ctm_background_failures_total{loop="health"} 1');
  });
});
