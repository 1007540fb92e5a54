import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../domain/clock.js";
import { CtmError } from "../domain/errors.js";
import type { JsonValue } from "@ctm/core/json";
import { LevelLogStore } from "../storage/level/level-log-store.js";
import { WatchHub } from "../watch/watch-hub.js";
import { ConfigService } from "./config-service.js";
import { HealthService } from "./health-service.js";
import { Metrics } from "./metrics.js";
import { ValidatorService } from "./validator-service.js";

let dir: string;
let clock: ManualClock;
let store: LevelLogStore;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-validators-"));
  clock = new ManualClock(Date.UTC(2024, 0, 1));
  store = new LevelLogStore(dir, clock);
  await store.open();
});
afterEach(async () => {
  await store.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** Writes documents straight to the log, as an older ctmd did before they were checked. */
const legacy = (docs: Record<string, JsonValue>) =>
  store.commit(() => Object.entries(docs).map(([key, value]) => ({ key, value, deleted: false, author: "old-ctmd", message: "", kind: "set" as const, cause: "api" as const })));

async function failure(p: Promise<unknown>): Promise<CtmError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CtmError) return e;
    throw e;
  }
  throw new Error("expected the write to be refused");
}

function services() {
  const logged: { fields: Record<string, unknown>; message: string }[] = [];
  const metrics = new Metrics();
  const validators = new ValidatorService(store, clock, metrics, (fields, message) => logged.push({ fields, message }));
  const health = new HealthService(store, clock, metrics, (fields, message) => logged.push({ fields, message }));
  const hub = new WatchHub(store);
  const config = new ConfigService(store, hub, clock, [validators, health]);
  validators.attach(config);
  health.attach(config);
  const gauge = async (name: string) => (await metrics.registry.getSingleMetric(name)!.get()).values[0]!.value;
  return { logged, validators, health, config, gauge, close: () => (validators.close(), health.close(), hub.close()) };
}

describe("definitions in the log that today's checks refuse", () => {
  it("a broken validator fails closed: logged, counted, and writes to its keys are refused naming it until it is deleted", async () => {
    // A JavaScript lookahead: Ajv on JavaScript regexes took it; RE2 cannot run it.
    await legacy({ "_ctm/validators/legacy": { keys: ["svc/**"], rules: [{ path: "", kind: "json_schema", schema: { pattern: "^(?!admin)" } }] } });
    const s = services();
    try {
      expect(s.logged).toEqual([
        {
          message: "validator cannot be compiled: writes to the keys it covers are refused until it is fixed or deleted",
          fields: expect.objectContaining({ validator: "legacy", key: "_ctm/validators/legacy", version: 1, reason: expect.stringMatching(/not a linear-time \(RE2\) regex/) }),
        },
      ]);
      expect(await s.gauge("ctm_validators_broken")).toBe(1);

      const head = store.headRevision;
      const e = await failure(s.config.set({ key: "svc/a", value: "admin" }));
      expect(e.code).toBe("failed_precondition");
      expect(e.message).toMatch(/^validator "legacy" \(version 1 of _ctm\/validators\/legacy\) cannot be compiled, so writes to "svc\/a" and other keys it covers are refused/);
      expect((await failure(s.config.apply([{ type: "set", key: "svc/b/c", value: 1 }], {}))).code).toBe("failed_precondition");
      expect(() => s.validators.validate("svc/a", 1, undefined)).toThrow(/cannot be compiled/);
      expect(store.headRevision).toBe(head);
      // Keys it does not cover are written as before.
      expect((await s.config.set({ key: "other", value: 1 })).version).toBe(1);

      await s.validators.delete("legacy", { author: "ops" });
      expect(await s.gauge("ctm_validators_broken")).toBe(0);
      expect((await s.config.set({ key: "svc/a", value: "admin" })).version).toBe(1);
    } finally {
      s.close();
    }
  });

  it("a broken validator whose key globs cannot be read covers every key; fixing it lifts the refusal", async () => {
    await legacy({ "_ctm/validators/odd": { keys: ["svc/{a,b}"], rules: [{ path: "", kind: "wat" }] } });
    const s = services();
    try {
      expect((await failure(s.config.set({ key: "anything", value: 1 }))).code).toBe("failed_precondition");
      await s.validators.set({ name: "odd", keys: ["svc/*"], rules: [{ path: "", kind: "type", type: "string" }], description: "" }, false, {});
      expect((await s.config.set({ key: "anything", value: 1 })).version).toBe(1);
      expect((await failure(s.config.set({ key: "svc/a", value: 1 }))).code).toBe("invalid_argument");
    } finally {
      s.close();
    }
  });

  it("a health check with an unknown source is not run, logged and counted, and can be deleted", async () => {
    await legacy({ "_ctm/health/pigeon": { keys: ["a"], maxErrorRate: 0.1, source: { kind: "carrier-pigeon" } } });
    const s = services();
    try {
      expect(s.health.checksFor("a")).toEqual([]);
      expect(s.logged.map((l) => [l.message, l.fields.check])).toEqual([["health check cannot be read: it is not run until it is fixed or deleted", "pigeon"]]);
      expect(await s.gauge("ctm_health_checks_broken")).toBe(1);
      await s.health.delete("pigeon", {});
      expect(await s.gauge("ctm_health_checks_broken")).toBe(0);
    } finally {
      s.close();
    }
  });

  it("Rollback and RollbackPrefix refuse to restore a definition today's checks refuse, writing nothing", async () => {
    await legacy({ "_ctm/health/h": { keys: ["a"], maxErrorRate: 0.1, action: "explode" } });
    const s = services();
    try {
      const v2 = await s.config.set({ key: "_ctm/health/h", value: { keys: ["a"], maxErrorRate: 0.2 } });
      const head = store.headRevision;
      const e = await failure(s.config.rollback({ key: "_ctm/health/h" }));
      expect(e.code).toBe("invalid_argument");
      expect(e.field).toBe("to_version");
      expect(e.message).toBe('to_version: would restore version 1 of "_ctm/health/h", which is not valid today (value.action: must be equal to one of the allowed values)');
      const p = await failure(s.config.rollbackPrefix("_ctm/", { revision: v2.revision - 1 }, {}));
      expect(p.field).toBe("to");
      expect(store.headRevision).toBe(head);
    } finally {
      s.close();
    }
  });

  it("a redefined or deleted health check starts over: its probes and verdicts are forgotten", async () => {
    const s = services();
    try {
      const def = { name: "up", keys: ["a"], source: { kind: "http" as const, url: "http://127.0.0.1:1/", expectStatus: 200 }, maxErrorRate: 0.1, maxIncrease: 0, windowMs: 60_000, minSamples: 1, failuresToAct: 3, action: "rollback" as const, bakeMs: 0 };
      await s.health.set(def, {});
      const check = s.health.checksFor("a")[0]!;
      const record = await s.config.set({ key: "a", value: 1 });
      for (let i = 0; i < 2; i++) s.health.recordProbe(check, false);
      await s.health.judgeAndAct(check, { key: "a", record, mode: "rolling", stable: 0 }, s.health.probeObservation(check));
      expect(s.health.probeObservation(check).canary).toEqual({ requests: 2, errors: 2 });
      expect(s.health.list("a").states.map((st) => [st.check, st.verdict, st.consecutive])).toEqual([["up", "failing", 1]]);

      await s.health.set({ ...def, maxErrorRate: 0.5 }, {});
      expect(s.health.probeObservation(check).canary).toEqual({ requests: 0, errors: 0 });
      expect(s.health.list("a").states).toEqual([]);

      s.health.recordProbe(check, false);
      await s.health.delete("up", {});
      expect(s.health.probeObservation(check).canary).toEqual({ requests: 0, errors: 0 });
    } finally {
      s.close();
    }
  });
});
