import type { Clock } from "../domain/clock.js";
import { checkText, LIMITS } from "../domain/limits.js";
import type { JsonValue } from "@ctm/core/json";
import type { Draft, LogRecord } from "@ctm/core/record";
import {
  COMPACTIONS_KEY,
  HOLD_PREFIX,
  holdFromJson,
  policyFromJson,
  RETENTION_PREFIX,
  retentionVerdict,
  type Hold,
  type RetentionPolicy,
} from "../domain/retention/retention-policy.js";
import type { CompactionOutcome, Disposition } from "../storage/compaction.js";
import type { LogStore } from "../storage/log-store.js";
import { currentPrincipal } from "./acting-principal.js";
import type { WriteMeta } from "./config-service.js";
import type { WriteGuard } from "./write-guard.js";

export type ErrorLog = (fields: Record<string, unknown>, message: string) => void;

/** The last compaction that changed anything, as its record tells it. */
export interface CompactionReport extends CompactionOutcome {
  /** The revision and time of the record that reports it. */
  readonly revision: number;
  readonly time: number;
}

/**
 * Retention: the policies under `_ctm/retention/` and holds under `_ctm/holds/`, followed as
 * they are written, and the compaction that applies them (by hand, or by CompactionLoop).
 */
export class RetentionService implements WriteGuard {
  private readonly policies = new Map<string, RetentionPolicy>();
  private readonly holds = new Map<string, Hold>();
  private lastReport: CompactionReport | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: LogStore,
    private readonly clock: Clock,
    private readonly logError?: ErrorLog,
  ) {
    for (const r of store.latestUnder(RETENTION_PREFIX)) this.load(r);
    for (const r of store.latestUnder(HOLD_PREFIX)) this.load(r);
    this.note(store.latest(COMPACTIONS_KEY));
    this.unsubscribe = store.onCommit((records) => {
      for (const r of records) {
        if (r.key.startsWith(RETENTION_PREFIX) || r.key.startsWith(HOLD_PREFIX)) this.load(r);
        else if (r.key === COMPACTIONS_KEY) this.note(r);
      }
    });
  }

  close(): void {
    this.unsubscribe();
  }

  /** A raw Set, Apply or Rollback of a policy or hold gets the same checks. */
  checkWrite(key: string, value: JsonValue, _rollout: unknown, field: string): void {
    if (key.startsWith(RETENTION_PREFIX)) policyFromJson(key.slice(RETENTION_PREFIX.length), value, `${field}value`);
    else if (key.startsWith(HOLD_PREFIX)) holdFromJson(key.slice(HOLD_PREFIX.length), value, `${field}value`);
  }

  checkRestore(key: string, value: JsonValue): void {
    this.checkWrite(key, value, undefined, "");
  }

  get activePolicies(): RetentionPolicy[] {
    return [...this.policies.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  get activeHolds(): Hold[] {
    return [...this.holds.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  get last(): CompactionReport | undefined {
    return this.lastReport;
  }

  /** Whether a compaction is running now. */
  get running(): boolean {
    return this.store.compactionRunning;
  }

  get horizon(): { revision: number; time: number } {
    return { revision: this.store.firstRevision, time: this.store.firstTime };
  }

  /**
   * Applies the policies now. Every superseded record a policy lets go is archived, then loses
   * its value or leaves; the horizon rises just enough to cover them. Kept whatever the
   * policies say: keys under a hold, a key's current record, and the version before it while
   * that one rolls out or has just finished (a rollback's way back). With no policy nothing
   * is read and nothing reported.
   */
  async compact(meta: WriteMeta & { cause?: string }): Promise<CompactionOutcome> {
    const author = checkText(meta.author || "anonymous", "author", LIMITS.authorChars);
    const message = checkText(meta.message ?? "", "message", LIMITS.messageChars);
    const principal = meta.principal ?? currentPrincipal();
    const policies = this.activePolicies;
    const unchanged: CompactionOutcome = { horizon: this.store.firstRevision, previousHorizon: this.store.firstRevision, removed: 0, stripped: 0 };
    if (policies.length === 0) return unchanged;
    const now = this.clock.now();
    // Ages become revisions once: a record superseded at or before the revision last written
    // `keepForMs` ago was superseded at least that long ago.
    const withCutoffs = await Promise.all(
      policies.map(async (policy) => ({
        policy,
        cutoffs: {
          value: policy.keepForMs === undefined ? Number.MAX_SAFE_INTEGER : await this.store.revisionAt(now - policy.keepForMs),
          audit: policy.keepAuditForMs === undefined ? 0 : await this.store.revisionAt(now - policy.keepAuditForMs),
        },
      })),
    );
    const holds = this.activeHolds;
    const dispose = (record: LogRecord, supersededAt: number): Disposition => {
      const head = this.store.latest(record.key);
      if (head === undefined) return "keep";
      if (record.version === head.version - 1 && (head.rollout !== undefined || head.kind === "rollout_finalized")) return "keep";
      return retentionVerdict({ record, supersededAt, newer: head.version - record.version }, withCutoffs, holds);
    };
    const names = policies.map((p) => p.name).join(", ");
    const report = (o: CompactionOutcome): Draft => ({
      key: COMPACTIONS_KEY,
      value: reportValue(o, policies.map((p) => p.name)),
      deleted: false,
      author,
      message: message || `retention (${names}): ${o.removed} records removed and ${o.stripped} values compacted below revision ${o.horizon}`,
      kind: "compaction",
      cause: meta.cause ?? "api",
      ...(principal === undefined ? {} : { principal }),
    });
    const outcome = await this.store.compact({ horizon: this.store.headRevision, tight: true, dispose, report });
    // The report record reached `last` as it was committed; what the run freed is known only now.
    if (outcome.report !== undefined && this.lastReport?.revision === outcome.report.revision) this.lastReport = { ...this.lastReport, bytesFreed: outcome.bytesFreed };
    return outcome;
  }

  private load(r: LogRecord): void {
    const prefix = r.key.startsWith(RETENTION_PREFIX) ? RETENTION_PREFIX : HOLD_PREFIX;
    const name = r.key.slice(prefix.length);
    const into: Map<string, unknown> = prefix === RETENTION_PREFIX ? this.policies : this.holds;
    if (r.deleted) {
      into.delete(name);
      return;
    }
    try {
      if (prefix === RETENTION_PREFIX) this.policies.set(name, policyFromJson(name, r.value));
      else this.holds.set(name, holdFromJson(name, r.value));
    } catch (e) {
      // Written before today's checks: a hold that cannot be read keeps everything it might
      // cover, so it is read as covering every key; a policy that cannot be read lets nothing go.
      into.delete(name);
      if (prefix === HOLD_PREFIX) this.holds.set(name, { name, keys: ["**"], reason: `unreadable hold: ${(e as Error).message}`, matches: () => true });
      this.logError?.({ key: r.key, version: r.version, err: (e as Error).message }, "retention document cannot be read");
    }
  }

  private note(r: LogRecord | undefined): void {
    if (r === undefined || r.deleted || typeof r.value !== "object" || r.value === null || Array.isArray(r.value)) return;
    const v = r.value as Record<string, JsonValue>;
    const archive = v["archive"] as { file: string; sha256: string; records: number } | undefined;
    this.lastReport = {
      horizon: Number(v["horizon"]),
      previousHorizon: Number(v["previousHorizon"]),
      removed: Number(v["removed"]),
      stripped: Number(v["stripped"]),
      ...(archive ? { archive } : {}),
      revision: r.revision,
      time: r.time,
    };
  }
}

/** The value of a compaction's record. */
function reportValue(o: CompactionOutcome, policies: string[]): JsonValue {
  return {
    horizon: o.horizon,
    previousHorizon: o.previousHorizon,
    removed: o.removed,
    stripped: o.stripped,
    policies,
    ...(o.archive ? { archive: { file: o.archive.file, sha256: o.archive.sha256, records: o.archive.records } } : {}),
  };
}
