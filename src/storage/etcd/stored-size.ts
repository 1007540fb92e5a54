import { jsonByteLength, type JsonValue } from "@ctm/core/json";
import type { LogRecord } from "@ctm/core/record";

/** About what a record takes in the log, for a page's byte budget (the level store's measure). */
export const storedSize = (r: LogRecord): number =>
  64 + r.key.length + r.author.length + r.message.length + (r.value === undefined ? 0 : jsonByteLength(r.value)) + (r.rollout ? jsonByteLength(r.rollout as unknown as JsonValue) : 0);
