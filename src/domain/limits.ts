import { invalidArgument } from "./errors.js";
import { jsonByteLength, type JsonValue } from "./json.js";

/** Documented limits (README "Limits"). */
export const LIMITS = {
  keyBytes: 256,
  valueBytes: 256 * 1024,
  authorChars: 256,
  messageChars: 4096,
  applyOperations: 1000,
  historyDefault: 100,
  historyMax: 1000,
} as const;

/** Keys read like paths: letters, digits and . _ - / :, starting with a letter, digit or _. */
const KEY_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._\-/:]*$/;
const PREFIX_PATTERN = /^[A-Za-z0-9._\-/:]*$/;

export function checkKey(key: string, field = "key"): string {
  if (key.length === 0) throw invalidArgument(field, "must not be empty");
  if (Buffer.byteLength(key, "utf8") > LIMITS.keyBytes) {
    throw invalidArgument(field, `must be at most ${LIMITS.keyBytes} bytes`);
  }
  if (!KEY_PATTERN.test(key)) {
    throw invalidArgument(field, "may hold only letters, digits and . _ - / : and must not start with . - / or :");
  }
  return key;
}

/** A prefix may be empty (everything) but otherwise follows the key alphabet. */
export function checkPrefix(prefix: string, field = "prefix"): string {
  if (Buffer.byteLength(prefix, "utf8") > LIMITS.keyBytes) {
    throw invalidArgument(field, `must be at most ${LIMITS.keyBytes} bytes`);
  }
  if (!PREFIX_PATTERN.test(prefix)) throw invalidArgument(field, "may hold only letters, digits and . _ - / :");
  return prefix;
}

export function checkValue(value: JsonValue | undefined, field = "value"): JsonValue {
  if (value === undefined) throw invalidArgument(field, "is required");
  checkJsonData(value, field, "");
  const size = jsonByteLength(value);
  if (size > LIMITS.valueBytes) {
    throw invalidArgument(field, `is ${size} bytes as JSON; the limit is ${LIMITS.valueBytes}`);
  }
  return value;
}

/**
 * Every number, at any depth, must be finite (JSON has no NaN or Infinity), and no
 * object member may be named "__proto__" (the CBOR decoder renames it to guard
 * against prototype pollution, so it would not read back as written).
 */
function checkJsonData(value: JsonValue, field: string, path: string): void {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw invalidArgument(field, `must hold only finite numbers${path ? ` (at ${path})` : ""}`);
    return;
  }
  if (typeof value !== "object" || value === null) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkJsonData(value[i]!, field, `${path}/${i}`);
    return;
  }
  if (Object.hasOwn(value, "__proto__")) throw invalidArgument(field, `must not hold a member named "__proto__"${path ? ` (at ${path})` : ""}`);
  for (const [k, v] of Object.entries(value)) checkJsonData(v, field, `${path}/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`);
}

export function checkText(text: string, field: string, maxChars: number): string {
  if (text.length > maxChars) throw invalidArgument(field, `must be at most ${maxChars} characters`);
  return text;
}

export function checkVersion(v: number | undefined, field: string): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isSafeInteger(v) || v < 0) throw invalidArgument(field, "must be a non-negative integer");
  return v;
}
