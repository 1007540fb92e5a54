import type { BlameLine as DomainBlameLine } from "../../domain/blame.js";
import type { PatchOp } from "../../domain/diff.js";
import type { LogRecord, RecordKind as DomainKind } from "@ctm/core/record";
import { toPbRollout } from "./rollout-mapper.js";
import { type BlameLine, type Entry, type PatchOperation, RecordKind } from "../../gen/ctm/v1/record.js";

export const KINDS: Record<DomainKind, RecordKind> = {
  set: RecordKind.RECORD_KIND_SET,
  delete: RecordKind.RECORD_KIND_DELETE,
  rollback: RecordKind.RECORD_KIND_ROLLBACK,
  rollout_milestone: RecordKind.RECORD_KIND_ROLLOUT_MILESTONE,
  rollout_finalized: RecordKind.RECORD_KIND_ROLLOUT_FINALIZED,
  rollout_paused: RecordKind.RECORD_KIND_ROLLOUT_PAUSED,
  rollout_resumed: RecordKind.RECORD_KIND_ROLLOUT_RESUMED,
  rollout_promoted: RecordKind.RECORD_KIND_ROLLOUT_PROMOTED,
  rollout_aborted: RecordKind.RECORD_KIND_ROLLOUT_ABORTED,
  rollout_killed: RecordKind.RECORD_KIND_ROLLOUT_KILLED,
  auto_rollback: RecordKind.RECORD_KIND_AUTO_ROLLBACK,
  compaction: RecordKind.RECORD_KIND_COMPACTION,
};

export function toEntry(r: LogRecord): Entry {
  return {
    key: r.key,
    value: r.deleted ? undefined : r.value,
    version: r.version,
    revision: r.revision,
    time: new Date(r.time),
    author: r.author,
    message: r.message,
    kind: KINDS[r.kind] ?? RecordKind.RECORD_KIND_UNSPECIFIED,
    deleted: r.deleted,
    rolledBackTo: r.rolledBackTo ?? 0,
    principal: r.principal ?? "",
    cause: r.cause,
    rollout: r.rollout && toPbRollout(r.rollout),
    valueCompacted: r.valueCompacted === true,
    breakGlass: r.breakGlass === true,
    changeRequest: r.changeRequest ?? "",
  };
}

export const toPatchOperation = (op: PatchOp): PatchOperation => ({
  op: op.op,
  path: op.path,
  from: op.from ?? "",
  value: op.value,
});

export const toBlameLine = (l: DomainBlameLine): BlameLine => ({
  path: l.path,
  value: l.value,
  version: l.record.version,
  revision: l.record.revision,
  time: new Date(l.record.time),
  author: l.record.author,
  message: l.record.message,
  principal: l.record.principal ?? "",
});

/** A proto `oneof at { time, revision }` as the service's point in time. */
export function toPoint(at: { $case: "time"; value: Date } | { $case: "revision"; value: number } | undefined) {
  if (at === undefined) return undefined;
  return at.$case === "time" ? { time: at.value.getTime() } : { revision: at.value };
}
