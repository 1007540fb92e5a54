import type { LogRecord } from "@ctm/core/record";
import { encodeLogValue, type StoredRecord } from "./level/record-bytes.js";

/** Whether "strip" changes a record: it still holds a value or a rollout plan. */
export const strippable = (r: LogRecord): boolean => !r.valueCompacted && (r.value !== undefined || r.rollout !== undefined);

/**
 * A record's stored bytes once compaction strips it: who, when, why and kind stay, the value and
 * plan go. It keeps the predecessor hash it was written with, so the records around it still
 * name the same chain; what vouches for it afterwards is the digest of the log below the horizon.
 * Both stores write exactly these bytes, so their archives and verifiers agree.
 */
export function stripRecord({ record, prev }: StoredRecord): Buffer {
  const { value: _value, rollout: _rollout, ...audit } = record;
  return encodeLogValue(prev ?? Buffer.alloc(0), { ...audit, valueCompacted: true });
}
