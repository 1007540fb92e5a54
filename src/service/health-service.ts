import type { Clock } from "../domain/clock.js";
import { CtmError, invalidArgument, notFound } from "../domain/errors.js";
import type { HealthCheck, Judgement, Observation } from "../domain/health/health-check.js";
import { judge } from "../domain/health/judge.js";
import { HealthHistory } from "./health-history.js";
import { checkHealthCheck, healthCheckFromJson, healthCheckToJson, withDefaults } from "../domain/health/parse-health-check.js";
import type { JsonValue } from "@ctm/core/json";
import { checkKey } from "../domain/limits.js";
import type { LogRecord } from "@ctm/core/record";
import * as controls from "../domain/rollout/controls.js";
import { globMatcher } from "../domain/validation/key-glob.js";
import { checkReservedWrite } from "../domain/validation/reserved-document.js";
import { HEALTH_CHECK_PREFIX, RESERVED_PREFIX } from "../domain/validation/validator.js";
import type { LogStore } from "../storage/log-store.js";
import type { ConfigService, WriteMeta } from "./config-service.js";
import type { Metrics } from "./metrics.js";
import { MetricWindow } from "./metric-window.js";
import type { ErrorLog } from "./validator-service.js";
import type { WriteGuard } from "./write-guard.js";

/** A key the health loop watches: rolling out, or finished and still baking. */
export interface HealthTarget {
  key: string;
  record: LogRecord;
  mode: "rolling" | "baking";
  /** What a rollback restores. */
  stable: JsonValue;
}

export interface CheckState extends Omit<Judgement, "verdict"> {
  check: string;
  key: string;
  verdict: Judgement["verdict"] | "breached";
  consecutive: number;
  checkedAt: number;
}

interface ActiveCheck {
  check: HealthCheck;
  matches: (key: string) => boolean;
}

const pct = (r: number): string => `${(r * 100).toFixed(2)}%`;

/**
 * Health checks (keys under `_ctm/health/`), the metrics services push, and
 * the verdicts. On `failuresToAct` consecutive failing ticks it appends an
 * auto-rollback record, or pauses the rollout, guarded by the key's revision.
 */
export class HealthService implements WriteGuard {
  private readonly checks = new Map<string, ActiveCheck>();
  /** Definitions in the log that today's checks refuse: not run (a check that cannot be read has no threshold), logged and counted. */
  private readonly broken = new Set<string>();
  private readonly window: MetricWindow;
  /** Probe results per check: one sample per tick. */
  private readonly probes = new Map<string, { t: number; ok: boolean }[]>();
  private readonly states = new Map<string, CheckState>();
  /** Every tick's state per key, for GetHealthHistory. */
  readonly history = new HealthHistory();
  /** Latest record of keys that roll out or just finished. */
  private readonly watched = new Map<string, LogRecord>();
  /** What a finalized record's rollback restores (null: it did not end a rollout). */
  private readonly bakeStable = new WeakMap<LogRecord, { value: JsonValue } | null>();
  private readonly unsubscribe: () => void;
  private config: ConfigService | undefined;

  constructor(
    private readonly store: LogStore,
    private readonly clock: Clock,
    private readonly metrics?: Metrics,
    private readonly logError?: ErrorLog,
  ) {
    metrics?.observe("ctm_health_checks_broken", "Health check definitions in the log that cannot be read; they are not run", () => this.broken.size);
    this.window = new MetricWindow(clock);
    for (const r of store.eachLatest("")) this.observe(r);
    this.unsubscribe = store.onCommit((records) => {
      for (const r of records) this.observe(r);
    });
  }

  attach(config: ConfigService): void {
    this.config = config;
  }

  close(): void {
    this.unsubscribe();
  }

  /**
   * Hosts (`host` or `host:port`, lower case) that http and prometheus sources may fetch; ctmd
   * fetches them every tick, so without this a check could aim it at any address it reaches.
   * Undefined: any host (tests of the service alone).
   */
  allowHosts: readonly string[] | undefined;

  /** A health check written with a raw Set or Apply gets the checks of SetHealthCheck. */
  checkWrite(key: string, value: JsonValue, rollout: unknown, field: string): void {
    if (key.startsWith(HEALTH_CHECK_PREFIX)) this.checkHost(healthCheckFromJson(checkReservedWrite(key, rollout !== undefined, field), value, `${field}value`), `${field}value.source.url`);
  }

  checkRestore(key: string, value: JsonValue): void {
    if (key.startsWith(HEALTH_CHECK_PREFIX)) this.checkHost(healthCheckFromJson(checkReservedWrite(key, false, ""), value), "value.source.url");
  }

  /** Whether the loop may fetch the check's source now (the allow-list may have changed since it was written). */
  mayFetch(check: HealthCheck): boolean {
    const s = check.source;
    return s.kind === "pushed" || this.hostAllowed(s.url);
  }

  private hostAllowed(url: string): boolean {
    if (this.allowHosts === undefined) return true;
    const u = new URL(url);
    return this.allowHosts.includes(u.hostname.toLowerCase()) || this.allowHosts.includes(u.host.toLowerCase());
  }

  private checkHost(check: HealthCheck, field: string): void {
    const s = check.source;
    if (s.kind === "pushed" || this.hostAllowed(s.url)) return;
    throw invalidArgument(field, `host "${new URL(s.url).host}" is not in --health-allow-hosts (${this.allowHosts!.join(", ")})`);
  }

  async set(c: HealthCheck, meta: WriteMeta & { expectedVersion?: number }): Promise<LogRecord> {
    const check = checkHealthCheck(withDefaults(c));
    this.checkHost(check, `check.${check.source.kind}.url`);
    return this.config!.set({ key: HEALTH_CHECK_PREFIX + check.name, value: healthCheckToJson(check), ...meta });
  }

  async delete(name: string, meta: WriteMeta): Promise<LogRecord> {
    if (!this.checks.has(name) && !this.broken.has(name)) throw notFound(`health check "${name}" does not exist`);
    return this.config!.delete({ key: HEALTH_CHECK_PREFIX + name, ...meta });
  }

  list(key: string): { checks: HealthCheck[]; states: CheckState[] } {
    const all = [...this.checks.values()].filter((c) => key === "" || c.matches(checkKey(key)));
    const names = new Set(all.map((c) => c.check.name));
    return { checks: all.map((c) => c.check), states: [...this.states.values()].filter((s) => names.has(s.check) && (key === "" || s.key === key)) };
  }

  /** Pushed samples. Returns how many were taken. */
  report(samples: { key: string; variant: string; requests: number; errors: number; time?: number }[]): number {
    samples.forEach((s, i) => {
      checkKey(s.key, `samples[${i}].key`);
      if (!(Number.isSafeInteger(s.requests) && Number.isSafeInteger(s.errors) && s.errors <= s.requests)) {
        throw invalidArgument(`samples[${i}].errors`, "must not exceed requests");
      }
    });
    return this.window.addAll(samples);
  }

  /** Keys to check now, with the value a rollback would restore. */
  async targets(): Promise<HealthTarget[]> {
    const out: HealthTarget[] = [];
    const now = this.clock.now();
    for (const [key, record] of this.watched) {
      if (record.rollout) {
        if (!record.rollout.state.killed) out.push({ key, record, mode: "rolling", stable: record.rollout.plan.stable });
        continue;
      }
      const bake = Math.max(0, ...this.checksFor(key).map((c) => c.bakeMs));
      if (now - record.time > bake) {
        this.watched.delete(key);
        continue;
      }
      // A finished rollout's stable value is in the record before it; records never change,
      // so it is read once per finalized record, not on every tick of the bake.
      let stable = this.bakeStable.get(record);
      if (stable === undefined) {
        const before = await this.store.version(key, record.version - 1);
        stable = before?.rollout ? { value: before.rollout.plan.stable } : null;
        this.bakeStable.set(record, stable);
      }
      if (stable) out.push({ key, record, mode: "baking", stable: stable.value });
    }
    return out;
  }

  checksFor(key: string, target?: HealthTarget): HealthCheck[] {
    const now = this.clock.now();
    return [...this.checks.values()]
      .filter((c) => c.matches(key) && (target?.mode !== "baking" || now - target.record.time <= c.check.bakeMs))
      .map((c) => c.check);
  }

  pushedObservation(check: HealthCheck, key: string): Observation {
    const { canary, stable } = this.window.counts(key, this.clock.now() - check.windowMs);
    return { canary, stable };
  }

  recordProbe(check: HealthCheck, ok: boolean): void {
    const now = this.clock.now();
    const list = this.probes.get(check.name) ?? [];
    list.push({ t: now, ok });
    while (list.length > 0 && list[0]!.t < now - check.windowMs) list.shift();
    this.probes.set(check.name, list);
  }

  probeObservation(check: HealthCheck): Observation {
    const list = (this.probes.get(check.name) ?? []).filter((p) => p.t >= this.clock.now() - check.windowMs);
    return { canary: { requests: list.length, errors: list.filter((p) => !p.ok).length } };
  }

  /** Judges one tick and acts on a breach. Returns the record appended, if any. */
  async judgeAndAct(check: HealthCheck, target: HealthTarget, obs: Observation): Promise<LogRecord | undefined> {
    const j = judge(check, obs);
    const id = `${check.name}\0${target.key}`;
    const prev = this.states.get(id);
    const consecutive = j.verdict === "failing" ? (prev?.verdict === "failing" ? prev.consecutive : 0) + 1 : 0;
    const state: CheckState = { ...j, check: check.name, key: target.key, consecutive, checkedAt: this.clock.now() };
    this.states.set(id, state);
    this.history.add({ ...state });
    if (consecutive < check.failuresToAct) return undefined;
    const record = await this.act(check, target, j);
    this.states.set(id, { ...state, verdict: "breached" });
    if (record !== undefined) this.history.markBreached(state);
    return record;
  }

  private async act(check: HealthCheck, target: HealthTarget, j: Judgement): Promise<LogRecord | undefined> {
    const { key, record } = target;
    const numbers = `${j.detail}; canary ${pct(j.canaryRate)} over ${j.canarySamples} samples, stable ${pct(j.stableRate)} over ${j.stableSamples}; threshold ${pct(check.maxErrorRate)}${check.maxIncrease > 0 ? `, max increase ${pct(check.maxIncrease)}` : ""}`;
    // A pause check pauses; it never escalates to a rollback of a rollout it (or someone) already paused.
    if (check.action === "pause" && target.mode === "rolling" && record.rollout!.state.pausedAt !== undefined) return undefined;
    const pause = check.action === "pause" && target.mode === "rolling";
    const author = `health:${check.name}`;
    const draft = pause
      ? (() => {
          const t = controls.pause(record.rollout!, record.value!, this.clock.now());
          return { key, value: t.value, rollout: t.rollout, deleted: false, kind: t.kind, author, principal: author, cause: "health", message: `paused by health check "${check.name}": ${numbers}` };
        })()
      : {
          key,
          value: target.stable,
          deleted: false,
          kind: "auto_rollback" as const,
          author,
          principal: author,
          cause: "health",
          message: `auto-rollback by health check "${check.name}": ${numbers}; restored ${JSON.stringify(target.stable).slice(0, 200)}`,
        };
    try {
      const [written] = await this.store.commit((view) => (view.head(key)?.revision === record.revision ? [draft] : []));
      if (written) this.metrics?.autoRollbacks.inc({ check: check.name, action: pause ? "pause" : "rollback" });
      return written;
    } catch (e) {
      // A conflict loses to the other writer; a failed store is the health loop's to report.
      if (e instanceof CtmError && e.code === "conflict") return undefined;
      throw e;
    }
  }

  private observe(r: LogRecord): void {
    if (r.key.startsWith(HEALTH_CHECK_PREFIX)) {
      const name = r.key.slice(HEALTH_CHECK_PREFIX.length);
      this.checks.delete(name);
      this.broken.delete(name);
      // A redefined or deleted check starts over: its probes and verdicts judged the old definition.
      this.probes.delete(name);
      for (const id of this.states.keys()) if (id.startsWith(`${name}\0`)) this.states.delete(id);
      if (r.deleted) return;
      try {
        const check = healthCheckFromJson(name, r.value);
        this.checks.set(name, { check, matches: globMatcher(check.keys) });
      } catch (e) {
        if (!(e instanceof CtmError)) throw e;
        this.broken.add(name);
        this.logError?.({ check: name, key: r.key, version: r.version, revision: r.revision, reason: e.message }, "health check cannot be read: it is not run until it is fixed or deleted");
      }
      return;
    }
    if (r.key.startsWith(RESERVED_PREFIX)) return;
    if (!r.deleted && (r.rollout || r.kind === "rollout_finalized")) this.watched.set(r.key, r);
    else this.watched.delete(r.key);
  }
}
