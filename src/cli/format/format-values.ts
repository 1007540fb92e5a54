import { recordKindToJSON, type RecordKind } from "../../gen/ctm/v1/record.js";
import { reasonToJSON, type Reason } from "../../gen/ctm/v1/rollout.js";

/** 2026-11-21T09:41:03Z (milliseconds only when there are some). */
export const formatTime = (d: Date | undefined): string => (d ? d.toISOString().replace(/\.000Z$/, "Z") : "-");

/** Compact JSON, cut to `max` characters with an ellipsis. */
export function compactJson(v: unknown, max = Infinity): string {
  const s = v === undefined ? "-" : JSON.stringify(v);
  return s.length > max ? `${s.slice(0, Math.max(1, max - 1))}…` : s;
}

export const prettyJson = (v: unknown): string => (v === undefined ? "-" : JSON.stringify(v, null, 2));

/** RECORD_KIND_ROLLOUT_PAUSED -> ROLLOUT_PAUSED. */
export const kindName = (k: RecordKind): string => recordKindToJSON(k).replace(/^RECORD_KIND_/, "");

/** A record's kind for a table or a line: a rollback names the version it restored (ROLLBACK to v2). */
export const kindLabel = (e: { kind: RecordKind; rolledBackTo: number }): string => kindName(e.kind) + (e.rolledBackTo ? ` to v${e.rolledBackTo}` : "");

/** REASON_IN_ROLLOUT -> IN_ROLLOUT. */
export const reasonName = (r: Reason): string => reasonToJSON(r).replace(/^REASON_/, "");

export const percent = (p: number): string => `${Number(p.toFixed(3))}%`;
