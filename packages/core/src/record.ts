import type { JsonValue } from "./json.js";

import type { Rollout } from "./rollout/plan.js";

/** Why a record was appended. */
export type RecordKind =
  | "set"
  | "delete"
  | "rollback"
  | "rollout_milestone"
  | "rollout_finalized"
  | "rollout_paused"
  | "rollout_resumed"
  | "rollout_promoted"
  | "rollout_aborted"
  | "rollout_killed"
  | "auto_rollback"
  | "compaction";

/** Who or what caused a record: "api" for client requests, or a background loop's name. */
export type Cause = string;

/** One immutable entry of the append-only log. */
export interface LogRecord {
  /** Global, gap-free, starting at 1. */
  readonly revision: number;
  readonly key: string;
  /** Per-key, starting at 1, counting on across deletes. */
  readonly version: number;
  /** Absent for tombstones. */
  readonly value?: JsonValue;
  readonly deleted: boolean;
  /** Unix milliseconds; never decreases with revision, so the time index is ordered. */
  readonly time: number;
  /** Free text the client sent; with auth on, `principal` says who it really was. */
  readonly author: string;
  readonly message: string;
  readonly kind: RecordKind;
  readonly cause: Cause;
  /** For rollbacks: the version whose value was restored. */
  readonly rolledBackTo?: number;
  /** Present while the value rolls out; `value` is then the new value. */
  readonly rollout?: Rollout;
  /**
   * Who was authenticated when it was written (`token:<name>`, `cert:<subject>`), or the
   * loop that wrote it (`ctm-scheduler`, `health:<check>`). Absent when auth was off.
   */
  readonly principal?: string;
  /**
   * Set once compaction took the value (and plan) away past the value horizon: who, when,
   * why and kind stay until the audit horizon.
   */
  readonly valueCompacted?: boolean;
  /** Written past a protection policy by a caller who broke the glass. */
  readonly breakGlass?: boolean;
  /** The id of the approved change request whose batch wrote it. */
  readonly changeRequest?: string;
}

/** A record before the store gives it a revision, version and time. */
export interface Draft {
  readonly key: string;
  readonly value?: JsonValue;
  readonly deleted: boolean;
  readonly author: string;
  readonly message: string;
  readonly kind: RecordKind;
  readonly cause: Cause;
  readonly rolledBackTo?: number;
  readonly rollout?: Rollout;
  readonly principal?: string;
  readonly breakGlass?: boolean;
  readonly changeRequest?: string;
}

/**
 * The record a store makes of `d`: its fields always set in this order, the optional ones only
 * when present (CBOR would store `undefined`). Every commit listener reads every record of a
 * batch, and V8 reads fields of an object made by spreading another far more slowly: three field
 * reads took 600 ns a record on records made with `{ ...draft, revision, version, time }`
 * against 18 ns on these.
 */
export function makeRecord(d: Draft, revision: number, version: number, time: number): LogRecord {
  const r: { -readonly [K in keyof LogRecord]: LogRecord[K] } = { revision, key: d.key, version, deleted: d.deleted, time, author: d.author, message: d.message, kind: d.kind, cause: d.cause };
  if (d.value !== undefined) r.value = d.value;
  if (d.rolledBackTo !== undefined) r.rolledBackTo = d.rolledBackTo;
  if (d.rollout !== undefined) r.rollout = d.rollout;
  if (d.principal !== undefined) r.principal = d.principal;
  if (d.breakGlass !== undefined) r.breakGlass = d.breakGlass;
  if (d.changeRequest !== undefined) r.changeRequest = d.changeRequest;
  return r;
}

/** Where a key stands, as the writer sees it (including writes not yet durable). */
export interface KeyHead {
  readonly version: number;
  readonly revision: number;
  readonly deleted: boolean;
}

export const isLive = (r: LogRecord | undefined): r is LogRecord => r !== undefined && !r.deleted;
