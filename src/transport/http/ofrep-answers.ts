import type { LogRecord } from "@ctm/core/record";
import type { Resolution } from "@ctm/core/rollout/plan";
import { successBody } from "./ofrep-evaluation.js";

/**
 * Distinct answers one record keeps: a rollout yields a few (stable, new, each variant, by
 * reason). Keys are record objects, never client input, so the cache holds at most live records
 * x 16 answers; an answer past the 16th is encoded and not kept.
 */
const PER_RECORD = 16;

interface Answer {
  value: Resolution["value"];
  reason: Resolution["reason"];
  variant: string;
  bytes: Buffer;
}

/**
 * OFREP evaluation successes as the bytes sent. An answer depends only on the record and the
 * resolution, and records are immutable, so the hot path is a lookup instead of building and
 * serializing an object per request. Entries go with their record.
 */
export class OfrepAnswers {
  private readonly byRecord = new WeakMap<LogRecord, Answer[]>();

  bytes(record: LogRecord, r: Resolution): Buffer {
    let list = this.byRecord.get(record);
    if (list === undefined) this.byRecord.set(record, (list = []));
    // Values compare by identity: a record's values are immutable objects, and interpolated
    // numbers compare by value.
    for (const a of list) if (a.value === r.value && a.reason === r.reason && a.variant === r.variant) return a.bytes;
    const bytes = Buffer.from(JSON.stringify(successBody(record, r)));
    if (list.length < PER_RECORD) list.push({ value: r.value, reason: r.reason, variant: r.variant, bytes });
    return bytes;
  }
}
