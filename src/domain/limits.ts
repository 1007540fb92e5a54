import { invalidArgument } from "./errors.js";
import { jsonByteLength, type JsonValue } from "@ctm/core/json";
import type { LogRecord } from "@ctm/core/record";
import type { EvalContext } from "@ctm/core/rollout/plan";

/** Documented limits (README "Limits"). */
export const LIMITS = {
  keyBytes: 256,
  valueBytes: 256 * 1024,
  authorChars: 256,
  messageChars: 4096,
  applyOperations: 1000,
  historyDefault: 100,
  historyMax: 1000,
  /**
   * Bytes of values (and rollout plans) one History page carries: a page of 1000 versions of a
   * 256 KiB value would be 256 MiB to encode in one go, and past any client's 4 MiB default
   * receive limit. A page ends before the entry that would pass this (it holds at least one).
   */
  historyPageBytes: 1024 * 1024,
  /** The same budget for a ListChanges page, which may hold up to 500 records of any keys. */
  changesPageBytes: 1024 * 1024,
  /**
   * Keys one Snapshot page looks at, by default and at most. The byte budget below ends most
   * pages first: a listing then takes as few round trips as its bytes allow.
   */
  snapshotPageMax: 10_000,
  /** Lines one Blame answer lists at most, and about how many bytes of them (values, paths, authors, messages). */
  blameLines: 10_000,
  blameBytes: 1024 * 1024,
  /** A Diff patch past either is one replace of the whole value: an answer stays within any client's 4 MiB. */
  diffOperations: 10_000,
  diffBytes: 1024 * 1024,
  /** A JSON Pointer in a request (Blame's path). */
  pointerChars: 4096,
  /** Records a RollbackPrefix answer lists; its revisions say where the rest are. */
  rollbackPrefixShown: 1000,
  /**
   * Stored bytes of the records one Snapshot page carries (their protobuf form is at most about
   * twice that): a page ends before the record that would pass it, and holds at least one.
   */
  snapshotPageBytes: 1024 * 1024,
  /**
   * Containers (objects and arrays together) a value may nest. Protobuf clients stop
   * decoding at 100 nested messages (ts-proto, protobuf-es, upb); a JSON object costs
   * three of them (Value, Struct, map entry), and the deepest answer embeds a value five
   * messages down (a rollout variant in an Entry), so 31 is the most every client can
   * read back; one level is kept in reserve for the API to grow.
   */
  valueDepth: 30,
} as const;

/**
 * About what a record adds to an answer, for the byte budgets of History and ListChanges pages
 * and RollbackPrefix's list: its value and rollout as JSON, and its message and author (a
 * thousand 4096-character messages are 4 MiB by themselves).
 */
export const answerBytes = (r: LogRecord): number =>
  jsonByteLength(r.value ?? null) + (r.rollout ? jsonByteLength(r.rollout as unknown as JsonValue) : 0) + r.message.length + r.author.length;

/** Whole numbers above this lose precision in a double (and in JSON clients): 2^53 - 1. */
export const MAX_INTEGER = Number.MAX_SAFE_INTEGER;

/**
 * Times the API carries: google.protobuf.Timestamp's range, years 0001 to 9999 UTC, in
 * milliseconds since the epoch. JSON clients (grpcurl) cannot print a time outside it.
 */
export const TIME_RANGE = { min: -62_135_596_800_000, max: 253_402_300_799_999 } as const;

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

/** A JSON Pointer (RFC 6901): "" or "/"-separated segments, "~" only as "~0" or "~1". */
export function checkPointer(path: string, field: string): string {
  if (path.length > LIMITS.pointerChars) throw invalidArgument(field, `must be at most ${LIMITS.pointerChars} characters`);
  if (path !== "" && !path.startsWith("/")) throw invalidArgument(field, `must be "" or a JSON Pointer starting with "/", such as /db/pool`);
  if (/~(?![01])/.test(path)) throw invalidArgument(field, `may hold "~" only as "~0" (for ~) or "~1" (for /)`);
  return path;
}

export function checkValue(value: JsonValue | undefined, field = "value"): JsonValue {
  if (value === undefined) throw invalidArgument(field, "is required");
  checkJsonData(value, field, undefined, 0);
  const size = jsonByteLength(value);
  if (size > LIMITS.valueBytes) {
    throw invalidArgument(field, `is ${size} bytes as JSON; the limit is ${LIMITS.valueBytes}`);
  }
  return value;
}

/**
 * Every number, at any depth, must be finite (JSON has no NaN or Infinity), no
 * object member may be named "__proto__" (the CBOR decoder renames it to guard
 * against prototype pollution, so it would not read back as written), and containers
 * nest at most LIMITS.valueDepth deep.
 */
function checkJsonData(value: JsonValue, field: string, path: Path, depth: number): void {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw invalidArgument(field, `must hold only finite numbers${at(path)}`);
    return;
  }
  if (typeof value !== "object" || value === null) return;
  if (depth >= LIMITS.valueDepth) throw invalidArgument(field, `must not nest objects and arrays more than ${LIMITS.valueDepth} deep${at(path)}`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v = value[i]!;
      if (typeof v === "object" || typeof v === "number") checkJsonData(v, field, { up: path, seg: i }, depth + 1);
    }
    return;
  }
  if (Object.hasOwn(value, "__proto__")) throw invalidArgument(field, `must not hold a member named "__proto__"${at(path)}`);
  for (const k in value) {
    const v = value[k]!;
    if (typeof v === "object" || typeof v === "number") checkJsonData(v, field, { up: path, seg: k }, depth + 1);
  }
}

/**
 * Where checkJsonData is, as a chain spelled out only for an error: a value holds tens of
 * thousands of members, and a JSON Pointer string for each cost more than the rest of the check.
 */
type Path = { up: Path; seg: string | number } | undefined;

function at(path: Path): string {
  let s = "";
  for (let p = path; p; p = p.up) s = `/${typeof p.seg === "number" ? p.seg : p.seg.replace(/~/g, "~0").replace(/\//g, "~1")}${s}`;
  return s ? ` (at ${s})` : "";
}


export function checkText(text: string, field: string, maxChars: number): string {
  if (text.length > maxChars) throw invalidArgument(field, `must be at most ${maxChars} characters`);
  return text;
}

/**
 * What an evaluation context may carry, on every face (gRPC, its JSON API, OFREP): the access log
 * keeps each answer's unit and request ids, so a context of megabytes would fill memory through
 * it, and rules compare the attributes.
 */
export const CONTEXT_LIMITS = { unitIdChars: 1024, requestIdChars: 1024, environmentChars: 256, attributes: 128, nameChars: 256, valueChars: 4096 } as const;

/** `ctx` within CONTEXT_LIMITS, or INVALID_ARGUMENT naming the part past them. */
export function checkContext<C extends EvalContext>(ctx: C, field = "context"): C {
  checkText(ctx.unitId, `${field}.unit_id`, CONTEXT_LIMITS.unitIdChars);
  checkText(ctx.requestId ?? "", `${field}.request_id`, CONTEXT_LIMITS.requestIdChars);
  checkText(ctx.environment, `${field}.environment`, CONTEXT_LIMITS.environmentChars);
  const names = Object.keys(ctx.attributes);
  if (names.length > CONTEXT_LIMITS.attributes) throw invalidArgument(`${field}.attributes`, `has ${names.length} entries; the limit is ${CONTEXT_LIMITS.attributes}`);
  for (const name of names) {
    // The field stays the same whatever the name: a client's text never goes into a trailer.
    if (name.length > CONTEXT_LIMITS.nameChars) throw invalidArgument(`${field}.attributes`, `names must be at most ${CONTEXT_LIMITS.nameChars} characters`);
    if (ctx.attributes[name]!.length > CONTEXT_LIMITS.valueChars) {
      throw invalidArgument(`${field}.attributes`, `${JSON.stringify(name.slice(0, 64))} must be at most ${CONTEXT_LIMITS.valueChars} characters`);
    }
  }
  return ctx;
}

export function checkVersion(v: number | undefined, field: string): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isSafeInteger(v) || v < 0) throw invalidArgument(field, `must be a whole number from 0 to ${MAX_INTEGER}`);
  return v;
}
