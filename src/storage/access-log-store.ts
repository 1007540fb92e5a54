import type { Reason } from "@ctm/core/rollout/plan";
import type { AccessBatch } from "./access-batch.js";

/** Which config one request got: one line of the access log. */
export interface AccessRecord {
  time: number;
  requestId: string;
  unitId: string;
  key: string;
  version: number;
  revision: number;
  variant: string;
  reason: Reason;
  source: string;
}

export interface AccessQuery {
  requestId?: string;
  unitId?: string;
  key?: string;
  from?: number;
  to?: number;
  limit: number;
  /** Continue below this cursor (from a previous page). */
  before?: Buffer;
}

/** Append-mostly storage for access records, separate from the config log. */
export interface AccessLogStore {
  open(): Promise<void>;
  close(): Promise<void>;
  /**
   * Not synced: the access log trades the last moments before a crash for a cheap hot path.
   * The store may take the batch's buffer (a worker-backed store transfers it): build a new
   * batch for each call.
   */
  append(batch: AccessBatch): Promise<void>;
  /** Newest first; `next` continues the listing. */
  query(q: AccessQuery): Promise<{ records: AccessRecord[]; next?: Buffer }>;
  /** Removes records older than `before` (ms); returns how many. */
  pruneOlderThan(before: number, max: number): Promise<number>;
  /** Removes the oldest `count` records. */
  pruneOldest(count: number): Promise<number>;
  approximateBytes(): Promise<number>;
}
