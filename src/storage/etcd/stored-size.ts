import { jsonByteLength, type JsonValue } from "../../domain/json.js";
import type { LogRecord } from "../../domain/record.js";

/** About what a record takes in the log, for a page's byte budget (the level store's measure). */
export const storedSize = (r: LogRecord): number =>
  64 + r.key.length + r.author.length + r.message.length + (r.value === undefined ? 0 : jsonByteLength(r.value)) + (r.rollout ? jsonByteLength(r.rollout as unknown as JsonValue) : 0);
