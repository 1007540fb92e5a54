import { invalidArgument } from "../domain/errors.js";
import { checkKey } from "../domain/limits.js";
import type { AccessLog } from "./access-log.js";

export interface AccessSummary {
  /** Oldest first, every bucket of the window. */
  buckets: { start: number; variants: Map<string, number> }[];
  records: number;
  truncated: boolean;
}

/** Access records one summary reads at most: the newest part of a busy window is counted. */
export const SUMMARY_BUDGET = 200_000;
const MAX_BUCKETS = 1000;
const DEFAULT_WINDOW_MS = 3_600_000;

/**
 * One key's evaluations per variant per time bucket, from the access log: the share of units
 * each variant actually served. The log is read newest first a page at a time (each page an
 * await, so other calls run between them), up to SUMMARY_BUDGET records.
 */
export async function summarizeAccess(log: Pick<AccessLog, "query">, now: number, q: { key: string; from?: number; to?: number; bucketMs?: number }): Promise<AccessSummary> {
  checkKey(q.key);
  const to = q.to ?? now;
  const from = q.from ?? to - DEFAULT_WINDOW_MS;
  if (from >= to) throw invalidArgument("end_time", "must be after start_time");
  const bucketMs = q.bucketMs ?? Math.max(1000, Math.ceil((to - from) / 60));
  if (!Number.isFinite(bucketMs) || bucketMs < 1) throw invalidArgument("bucket", "must be at least 1 ms");
  const count = Math.ceil((to - from) / bucketMs);
  if (count > MAX_BUCKETS) throw invalidArgument("bucket", `makes ${count} buckets of the window; at most ${MAX_BUCKETS}`);
  const buckets = Array.from({ length: count }, (_, i) => ({ start: from + i * bucketMs, variants: new Map<string, number>() }));
  let records = 0;
  let pageToken = "";
  do {
    const page = await log.query({ key: q.key, from, to, limit: 1000, pageToken });
    for (const r of page.records) {
      const b = buckets[Math.min(count - 1, Math.floor((r.time - from) / bucketMs))];
      if (b === undefined) continue;
      b.variants.set(r.variant, (b.variants.get(r.variant) ?? 0) + 1);
    }
    records += page.records.length;
    pageToken = page.nextPageToken;
  } while (pageToken !== "" && records < SUMMARY_BUDGET);
  return { buckets, records, truncated: pageToken !== "" };
}
