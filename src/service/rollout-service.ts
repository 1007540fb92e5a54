import { bucket, variantBucket } from "@ctm/core/bucketing";
import type { Clock } from "../domain/clock.js";
import { CtmError, failedPrecondition, notFound } from "../domain/errors.js";
import { checkKey, checkText, checkVersion, LIMITS } from "../domain/limits.js";
import type { LogRecord } from "@ctm/core/record";
import * as controls from "../domain/rollout/controls.js";
import { evaluate } from "@ctm/core/rollout/evaluate";
import type { EvalContext, Resolution, Rollout } from "@ctm/core/rollout/plan";
import { milestones, percentAt, planTime, realTime, ringIndexAt, type Milestone } from "@ctm/core/rollout/schedule";
import type { LogStore } from "../storage/log-store.js";
import { checkExpected } from "./write-plans.js";
import { currentPrincipal } from "./acting-principal.js";

export interface ControlMeta {
  author?: string;
  message?: string;
  expectedVersion?: number;
}

export interface MilestoneStatus extends Milestone {
  index: number;
  reached: boolean;
  /** Real time it falls due at the current pace; undefined while paused. */
  dueAt: number | undefined;
}

export interface RolloutStatus {
  record: LogRecord;
  active: boolean;
  percent: number;
  ring: string;
  paused: boolean;
  killed: boolean;
  activated: boolean;
  milestones: MilestoneStatus[];
  next: MilestoneStatus | undefined;
}

export interface Explanation {
  record: LogRecord;
  resolution: Resolution;
  bucket: number;
  variantBucket: number;
  percent: number;
  ring: string;
  trace: string[];
}

export const SCHEDULER_AUTHOR = "ctm-scheduler";

/**
 * Rollout control and the scheduler's work. Every action appends records via
 * the store's compare-and-set, so a control and a scheduler step never both
 * apply to the same version.
 */
export class RolloutService {
  /** Keys whose latest record rolls out: what the scheduler looks at. */
  private readonly rolling = new Set<string>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: LogStore,
    private readonly clock: Clock,
  ) {
    for (const r of store.eachLatest("")) if (r.rollout && !r.deleted) this.rolling.add(r.key);
    this.unsubscribe = store.onCommit((records) => {
      for (const r of records) {
        if (r.rollout && !r.deleted) this.rolling.add(r.key);
        else this.rolling.delete(r.key);
      }
    });
  }

  get activeRollouts(): number {
    return this.rolling.size;
  }

  close(): void {
    this.unsubscribe();
  }

  status(key: string): RolloutStatus {
    const record = this.live(key);
    const now = this.clock.now();
    const ro = record.rollout;
    if (!ro) {
      return { record, active: false, percent: 100, ring: "", paused: false, killed: false, activated: true, milestones: [], next: undefined };
    }
    const t = planTime(ro.state, now);
    const ms = milestones(ro.plan, ro.state).map((m, i) => ({ ...m, index: i + 1, reached: i < ro.state.milestones, dueAt: realTime(ro.state, m.at) }));
    const ringIdx = ringIndexAt(ro.plan, ro.state, t);
    return {
      record,
      active: true,
      percent: percentAt(ro.plan.percentage, ro.state.startedAt, t),
      ring: ringIdx >= 0 ? ro.plan.rings!.order[ringIdx]! : "",
      paused: ro.state.pausedAt !== undefined,
      killed: ro.state.killed,
      activated: ro.plan.activateAt === undefined || t >= ro.plan.activateAt,
      milestones: ms,
      next: ms.find((m) => !m.reached),
    };
  }

  /**
   * The environments a control would newly serve the key's new value in, for authorization:
   * Promote to the next ring opens that ring; Resume re-opens the rings reached; finishing, or
   * any of them on a plan without rings, serves it everywhere. Undefined when the key is not
   * rolling out (the control itself then answers why it cannot run).
   */
  environmentsFor(key: string, control: "resume" | "promote_next" | "promote_finish"): readonly string[] | "all" | undefined {
    const ro = this.store.latest(key)?.rollout;
    if (!ro) return undefined;
    const order = ro.plan.rings?.order;
    if (!order || control === "promote_finish") return "all";
    const at = ringIndexAt(ro.plan, ro.state, planTime(ro.state, this.clock.now()));
    return control === "resume" ? order.slice(0, at + 1) : order.slice(at + 1, at + 2);
  }

  pause(key: string, meta: ControlMeta): Promise<LogRecord> {
    return this.control(key, meta, (ro, rec, now) => controls.pause(ro, rec.value!, now));
  }

  resume(key: string, meta: ControlMeta): Promise<LogRecord> {
    return this.control(key, meta, (ro, rec, now) => controls.resume(ro, rec.value!, now));
  }

  kill(key: string, meta: ControlMeta): Promise<LogRecord> {
    return this.control(key, meta, (ro, rec, now) => controls.kill(ro, rec.value!, now));
  }

  abort(key: string, meta: ControlMeta): Promise<LogRecord> {
    return this.control(key, meta, (ro) => controls.abort(ro));
  }

  promote(key: string, target: "next" | "finish", meta: ControlMeta): Promise<LogRecord> {
    return this.control(key, meta, (ro, rec, now) => controls.promote(ro, rec.value!, now, target));
  }

  /** The decision for one unit at `time` (default now), step by step. */
  async explain(key: string, ctx: EvalContext, time?: number): Promise<Explanation> {
    checkKey(key);
    const now = time ?? this.clock.now();
    let record: LogRecord | undefined;
    if (time === undefined) record = this.store.latest(key);
    else {
      const rev = await this.store.revisionAt(time);
      record = rev === 0 ? undefined : await this.store.at(key, rev);
    }
    if (!record || record.deleted) throw notFound(`key "${key}" does not exist${time === undefined ? "" : " at that time"}`);
    const trace: string[] = [];
    const resolution = evaluate(record, ctx, now, trace);
    const ro = record.rollout;
    const salt = ro?.plan.salt ?? key;
    const t = ro ? planTime(ro.state, now) : now;
    const ringIdx = ro ? ringIndexAt(ro.plan, ro.state, t) : -1;
    return {
      record,
      resolution,
      bucket: bucket(salt, ctx.unitId),
      variantBucket: variantBucket(salt, ctx.unitId),
      percent: ro ? percentAt(ro.plan.percentage, ro.state.startedAt, t) : 100,
      ring: ringIdx >= 0 ? ro!.plan.rings!.order[ringIdx]! : "",
      trace,
    };
  }

  /**
   * Appends every milestone that fell due by now, for every rolling key, each
   * key in one atomic batch guarded by its version. Run after downtime it
   * catches up on everything missed, exactly once.
   */
  async advance(): Promise<LogRecord[]> {
    const now = this.clock.now();
    const written: LogRecord[] = [];
    for (const key of [...this.rolling]) {
      const rec = this.store.latest(key);
      if (!rec?.rollout || rec.deleted) continue;
      const due = controls.dueMilestones(rec.rollout, rec.value!, now);
      if (due.length === 0) continue;
      try {
        written.push(
          ...(await this.store.commit((view) => {
            // Someone changed the key since we looked: their version wins; the next tick re-reads.
            if (view.head(key)?.revision !== rec.revision) return [];
            return due.map((d) => ({ key, value: d.value, rollout: d.rollout, deleted: false, kind: d.kind, author: SCHEDULER_AUTHOR, principal: SCHEDULER_AUTHOR, message: d.description, cause: "scheduler" }));
          })),
        );
      } catch (e) {
        // A conflict loses to the other writer (the next tick re-reads); a failed store is the scheduler's to report.
        if (!(e instanceof CtmError && e.code === "conflict")) throw e;
      }
    }
    return written;
  }

  private live(key: string): LogRecord {
    const r = this.store.latest(checkKey(key));
    if (!r || r.deleted) throw notFound(`key "${key}" does not exist`);
    return r;
  }

  private async control(key: string, meta: ControlMeta, step: (ro: Rollout, rec: LogRecord, now: number) => controls.Transition): Promise<LogRecord> {
    checkKey(key);
    const expectedVersion = checkVersion(meta.expectedVersion, "expected_version");
    const author = checkText(meta.author || "anonymous", "author", LIMITS.authorChars);
    const principal = currentPrincipal();
    const message = checkText(meta.message ?? "", "message", LIMITS.messageChars);
    const now = this.clock.now();
    const [r] = await this.store.commit((view) => {
      const head = view.head(key);
      checkExpected(head, key, expectedVersion);
      const rec = this.live(key);
      if (head?.revision !== rec.revision) throw new CtmError("conflict", `key "${key}" is being changed; retry`, "key");
      if (!rec.rollout) throw failedPrecondition(`key "${key}" has no rollout`);
      const t = step(rec.rollout, rec, now);
      return [{ key, value: t.value, rollout: t.rollout, deleted: false, kind: t.kind, author, principal, message: message || t.description, cause: "api" }];
    });
    return r!;
  }
}
