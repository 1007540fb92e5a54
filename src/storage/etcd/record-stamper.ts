import type { Clock } from "../../domain/clock.js";
import { makeRecord, type Draft, type KeyHead, type LogRecord } from "@ctm/core/record";
import type { WriteView } from "../log-store.js";
import type { AppliedLog } from "./applied-log.js";

/**
 * Gives drafts their revision, version and time. Commits are stamped before etcd has them: the
 * view a commit prepares on is the applied log with the heads of the commits stamped ahead of
 * it on top.
 */
export class RecordStamper {
  /** The heads of the records stamped and not applied yet. */
  private readonly writer = new Map<string, KeyHead>();
  private nextRev = 1;
  private lastTime = 0;

  constructor(
    private readonly clock: Clock,
    private readonly log: AppliedLog,
  ) {}

  readonly view: WriteView = {
    head: (key) => this.writer.get(key) ?? headOf(this.log.committed.get(key)),
    keys: (prefix) => {
      const all = new Set<string>();
      for (const k of this.log.committed.keys()) if (k.startsWith(prefix)) all.add(k);
      for (const k of this.writer.keys()) if (k.startsWith(prefix)) all.add(k);
      return all;
    },
  };

  /** The store opened with the log applied up to nextRev - 1. */
  start(nextRev: number): void {
    this.nextRev = nextRev;
    for (const r of this.log.committed.values()) this.lastTime = Math.max(this.lastTime, r.time);
  }

  stampAll(drafts: readonly Draft[]): LogRecord[] {
    // Whole milliseconds: the time index is keyed by integer ms.
    const now = Math.max(this.lastTime, Math.floor(this.clock.now()));
    this.lastTime = now;
    return drafts.map((d) => {
      const version = (this.view.head(d.key)?.version ?? 0) + 1;
      const r = makeRecord(d, this.nextRev++, version, now);
      this.writer.set(r.key, { version, revision: r.revision, deleted: r.deleted });
      return r;
    });
  }

  /** Another replica's records were applied: revisions and times go on after them. */
  applied(records: readonly LogRecord[]): void {
    this.nextRev = Math.max(this.nextRev, this.log.committedRev + 1);
    for (const r of records) this.lastTime = Math.max(this.lastTime, r.time);
  }

  /** Before every waiting commit is stamped again, on the log as applied now. */
  reset(): void {
    this.writer.clear();
    this.nextRev = this.log.committedRev + 1;
  }

  /** A commit was applied: the view keeps the heads of `ahead`, the records stamped on top of it. */
  rebase(ahead: readonly LogRecord[]): void {
    this.writer.clear();
    for (const r of ahead) this.writer.set(r.key, { version: r.version, revision: r.revision, deleted: r.deleted });
  }
}

const headOf = (r: LogRecord | undefined): KeyHead | undefined => (r ? { version: r.version, revision: r.revision, deleted: r.deleted } : undefined);

