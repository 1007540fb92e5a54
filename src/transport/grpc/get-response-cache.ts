import { BinaryWriter } from "@bufbuild/protobuf/wire";
import type { LogRecord } from "@ctm/core/record";
import type { Resolution } from "@ctm/core/rollout/plan";
import { toPbReason } from "./rollout-mapper.js";
import { entryBytes, valueBytes } from "./wire-cache.js";
import { writeHeader } from "./response-header.js";
import type { ResponseHeader } from "../../gen/ctm/v1/record.js";

/**
 * How many distinct answers one record keeps per head revision (a rollout has a few: stable,
 * new, variants). Keys are record objects, never client input: the cache holds at most
 * live records x 16 responses, and an answer past the 16th is encoded and not kept.
 */
export const ANSWERS_PER_RECORD = 16;

interface Answer {
  value: Resolution["value"];
  variant: string;
  reason: Resolution["reason"];
  bytes: Buffer;
}

interface Answers {
  headRevision: number;
  /** The oldest revision served, which the header also tells: a compaction raises it. */
  oldest: number;
  list: Answer[];
}

/**
 * Whole GetResponse messages, ready to send. A Get's answer depends only on the record, the
 * head revision in its header and the resolution, and a record yields few distinct
 * resolutions, so the hot path is a lookup: no protobuf encoding, no allocation. Entries
 * are dropped with their record; a new head revision empties a record's list.
 */
export class GetResponseCache {
  private readonly byRecord = new WeakMap<LogRecord, Answers>();

  /** Answers kept for `record` now (for tests of the bound). */
  kept(record: LogRecord): number {
    return this.byRecord.get(record)?.list.length ?? 0;
  }

  bytes(record: LogRecord, header: ResponseHeader, r: Resolution): Buffer {
    const headRevision = header.revision;
    let answers = this.byRecord.get(record);
    if (answers === undefined) this.byRecord.set(record, (answers = { headRevision, oldest: header.oldestRevision, list: [] }));
    else if (answers.headRevision !== headRevision || answers.oldest !== header.oldestRevision) {
      answers.headRevision = headRevision;
      answers.oldest = header.oldestRevision;
      answers.list = [];
    }
    // Values are compared by identity: a record's values are immutable objects, and
    // interpolated numbers compare by value.
    for (const a of answers.list) {
      if (a.value === r.value && a.reason === r.reason && a.variant === r.variant) return a.bytes;
    }
    const bytes = encodeGetResponse(record, header, r);
    if (answers.list.length < ANSWERS_PER_RECORD) answers.list.push({ value: r.value, variant: r.variant, reason: r.reason, bytes });
    return bytes;
  }
}

/** GetResponse{header, entry, value, variant, reason}, with the entry's bytes shared across answers. */
export function encodeGetResponse(record: LogRecord, header: ResponseHeader, r: Resolution): Buffer {
  const w = writeHeader(new BinaryWriter(), header).uint32(18).bytes(entryBytes(record));
  if (r.value !== undefined) w.uint32(26).bytes(valueBytes(r.value));
  if (r.variant !== "") w.uint32(34).string(r.variant);
  return Buffer.from(w.uint32(40).int32(toPbReason(r.reason)).finish());
}
