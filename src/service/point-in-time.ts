import { invalidArgument, outOfRange } from "../domain/errors.js";
import type { Clock } from "../domain/clock.js";
import type { LogStore } from "../storage/log-store.js";

/** A moment in the log: a wall time (ms) or a revision. */
export type PointInTime = { time: number } | { revision: number };

/**
 * Resolves a point in time to a revision. A time before the first record, a
 * future time and a revision beyond the head are OUT_OF_RANGE: answering them
 * would be a guess, not history.
 */
export async function resolvePoint(store: LogStore, clock: Clock, at: PointInTime, field: string): Promise<number> {
  const head = store.headRevision;
  if ("revision" in at) {
    const rev = at.revision;
    if (!Number.isSafeInteger(rev) || rev < 1) throw invalidArgument(`${field}.revision`, "must be at least 1");
    if (rev > head) throw outOfRange(`${field}.revision`, `revision ${rev} is ahead of the head revision ${head}`, { head });
    if (rev < store.firstRevision) {
      throw outOfRange(`${field}.revision`, `revision ${rev} was compacted; the oldest revision served is ${store.firstRevision}`, {
        oldest: store.firstRevision,
      });
    }
    return rev;
  }
  if (!Number.isFinite(at.time)) throw invalidArgument(`${field}.time`, "is not a valid time");
  const now = clock.now();
  if (at.time > now) {
    throw outOfRange(`${field}.time`, `${new Date(at.time).toISOString()} is in the future (now is ${new Date(now).toISOString()})`);
  }
  const rev = await store.revisionAt(at.time);
  const oldest = store.firstRevision;
  if (oldest > 1 && rev < oldest) {
    throw outOfRange(`${field}.time`, `${new Date(at.time).toISOString()} is before the oldest revision served, ${oldest} (${new Date(store.firstTime).toISOString()}); what came before was compacted`, { oldest });
  }
  if (rev === 0) throw outOfRange(`${field}.time`, `${new Date(at.time).toISOString()} is before the first record`);
  return rev;
}
