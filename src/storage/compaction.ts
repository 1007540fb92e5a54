import { failedPrecondition, invalidArgument, outOfRange } from "../domain/errors.js";
import type { Draft, LogRecord } from "@ctm/core/record";

/**
 * What compaction does with a superseded record below the new horizon: keep it whole, keep only
 * its audit fields (who, when, why, kind: the value and plan go), or remove it from the store.
 */
export type Disposition = "keep" | "strip" | "remove";

/** What a compaction did: the content of the record that says so. */
export interface CompactionOutcome {
  /** Reads at revisions below it are refused from now on. */
  readonly horizon: number;
  readonly previousHorizon: number;
  readonly removed: number;
  readonly stripped: number;
  /** The archive that holds every removed or stripped record as it was stored; absent when nothing left. */
  readonly archive?: { readonly file: string; readonly sha256: string; readonly records: number };
  /** Bytes of the store's files freed once it ended (its archive not counted); known only to the run itself. */
  readonly bytesFreed?: number;
  /** The record that reports it; absent when nothing changed, so nothing was reported. */
  readonly report?: { readonly revision: number; readonly time: number };
}

export interface CompactionPlan {
  /**
   * The new horizon, at most the head revision. A record is offered to `dispose` only when its
   * key's next version is at or below it: no answer at or after the horizon needs it.
   */
  readonly horizon: number;
  /**
   * Publish the lowest horizon that covers what leaves (at least the current one) rather than
   * `horizon` itself, which then only bounds what is offered: what retention policies want.
   */
  readonly tight?: boolean;
  dispose(record: LogRecord, supersededAt: number): Disposition;
  /** The record that reports the compaction, appended in the batch that publishes the horizon. */
  report(outcome: CompactionOutcome): Draft;
}

/** Where the store's history begins: the oldest revision still answered, and its time. */
export interface Horizon {
  readonly revision: number;
  /** Unix ms of the record at `revision`; 0 for a store that was never compacted. */
  readonly time: number;
}

/** Refuses a plan no store may run: a horizon that is not a revision, ahead of the head, or below the current one; or a second run. */
export function checkCompaction(plan: CompactionPlan, head: number, current: number, running: boolean): void {
  const h = plan.horizon;
  if (!Number.isSafeInteger(h) || h < 1) throw invalidArgument("horizon", "must be a revision of at least 1");
  if (h > head) throw outOfRange("horizon", `revision ${h} is ahead of the head revision ${head}`, { head });
  if (h < current) throw failedPrecondition(`the horizon is at revision ${current} already, and it never moves back`);
  if (running) throw failedPrecondition("a compaction is running already");
}

/**
 * What one run offers the plan and counts of what leaves: `offer` asks the plan and notes the
 * revision that superseded each record that leaves, `counted` counts the archive's entries as
 * they pass, and `horizon()` is the one to publish (for a tight plan, the lowest that covers
 * what left: the highest revision that superseded a record that left).
 */
export function compactionTally(plan: CompactionPlan, previousHorizon: number) {
  const counts = { remove: 0, strip: 0 };
  let needed = previousHorizon;
  const offer = (r: LogRecord, at: number): Disposition => {
    const d = plan.dispose(r, at);
    if (d !== "keep") needed = Math.max(needed, at);
    return d;
  };
  async function* counted<E extends readonly [Exclude<Disposition, "keep">, ...unknown[]]>(entries: AsyncIterable<E>): AsyncGenerator<E> {
    for await (const e of entries) {
      counts[e[0]]++;
      yield e;
    }
  }
  const horizon = (): number => (plan.tight ? needed : plan.horizon);
  return { counts, offer, counted, horizon };
}
