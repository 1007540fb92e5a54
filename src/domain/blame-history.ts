import { BlameWalk, type BlameLine } from "./blame.js";
import type { LogRecord } from "@ctm/core/record";

export interface BlameLimits {
  /** Stop after this many older versions; the answer then says it is incomplete. */
  maxVersions: number;
  /** Aim for pages that hold the event loop about this long. */
  pageMs: number;
  /** First page size; it doubles or halves toward pageMs. */
  firstPage: number;
  maxPage: number;
}

export const BLAME_LIMITS: BlameLimits = { maxVersions: 1_000_000, pageMs: 10, firstPage: 64, maxPage: 1024 };

export interface BlameResult {
  lines: BlameLine[];
  /** Whether the head's value holds anything at `under`. */
  found: boolean;
  /** More leaves than `maxLeaves`: only the first are in `lines`. */
  truncated: boolean;
  /** False when maxVersions was reached with leaves still unchanged: see `unresolved`. */
  complete: boolean;
  /** Older versions read. */
  examined: number;
  /** The oldest version read; leaves in `unresolved` date from it or earlier. */
  oldestExamined: number;
  unresolved: string[];
}

/** Records of the key strictly below `beforeRevision`, newest first, at most `limit`. */
export type ReadOlder = (beforeRevision: number, limit: number) => Promise<LogRecord[]>;

const now = (): number => performance.now();
const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Blame at any depth: walks the key's history back from `head` a page at a time,
 * yielding to the event loop between pages, and stops as soon as every leaf is
 * attributed (or the key's first version is reached). Pages grow or shrink so one
 * takes about `pageMs`, whatever the size of the values.
 */
export async function blameHistory(
  head: LogRecord,
  readOlder: ReadOlder,
  limits: BlameLimits = BLAME_LIMITS,
  /** Only the first `maxLeaves` leaves at or under the JSON Pointer `under`. */
  scope: { under: string; maxLeaves: number } = { under: "", maxLeaves: Infinity },
): Promise<BlameResult> {
  const walk = new BlameWalk(head, scope.under, scope.maxLeaves);
  let page = limits.firstPage;
  let before = head.revision;
  for (;;) {
    if (walk.done) break;
    const room = limits.maxVersions - walk.examined;
    if (room <= 0) break;
    const t0 = now();
    const older = await readOlder(before, Math.min(page, room));
    walk.feed(older);
    if (older.length < Math.min(page, room)) break;
    before = older[older.length - 1]!.revision;
    const took = now() - t0;
    page = took > limits.pageMs ? Math.max(1, page >> 1) : took < limits.pageMs / 2 ? Math.min(limits.maxPage, page * 2) : page;
    await yieldToLoop();
  }
  // Versions start at 1: a history that ends above it was cut short by compaction.
  const complete = walk.done || walk.oldest.version <= 1;
  return {
    lines: walk.lines(),
    found: walk.found,
    truncated: walk.truncated,
    complete,
    examined: walk.examined,
    oldestExamined: walk.oldest.version,
    unresolved: complete ? [] : walk.unresolved,
  };
}
