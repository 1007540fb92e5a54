import { isUtf8 } from "node:buffer";
import { getTextEncoding } from "@bufbuild/protobuf/wire";
import type { EvaluationContext } from "../../gen/ctm/v1/rollout.js";
import { GetRequest } from "../../gen/ctm/v1/config_service.js";
import { checkRequestBytes } from "./check-request-bytes.js";
import { protoRegistry } from "./proto-registry.js";

/**
 * GetRequest decoding for the hot path. Decoding the request with its EvaluationContext was
 * the largest share of a Get's own CPU time: the generic reader allocates a reader object and
 * an array per string. A GetRequest has one shape in practice (key, and a context of short
 * strings), so that shape is read here directly from the buffer. Anything else (unknown
 * fields, wide tags, non-minimal nesting, truncation, invalid UTF-8, an attribute named
 * "__proto__") is checked by checkRequestBytes and goes to ts-proto's decoder, so the answer
 * is always exactly ts-proto's, and what the checks refuse never takes the fast path.
 */
export function decodeGetRequest(buf: Buffer): GetRequest {
  const fast = decodeGetRequestFast(buf);
  if (fast !== undefined) return fast;
  checkRequestBytes((getRequestType ??= protoRegistry().getMessage("ctm.v1.GetRequest")!), buf);
  return GetRequest.decode(buf);
}

let getRequestType: ReturnType<ReturnType<typeof protoRegistry>["getMessage"]>;

// The read position of the decode in progress (decoding is synchronous and never re-entered).
let at = 0;
const { decodeUtf8 } = getTextEncoding();

/** The request, or undefined when the bytes are not of the common shape. Exported for tests. */
export function decodeGetRequestFast(buf: Buffer): GetRequest | undefined {
  const message: GetRequest = { key: "", context: undefined };
  const end = buf.length;
  at = 0;
  invalidText = false;
  while (at < end) {
    const tag = buf[at++]!;
    const len = length(buf, end);
    if (len < 0) return undefined;
    if (tag === 10) message.key = text(buf, len);
    else if (tag === 18) {
      const context = decodeContext(buf, at + len);
      if (context === undefined) return undefined;
      message.context = context;
    } else return undefined;
  }
  return invalidText ? undefined : message;
}

function decodeContext(buf: Buffer, end: number): EvaluationContext | undefined {
  const message: EvaluationContext = { unitId: "", environment: "", attributes: {}, requestId: "" };
  while (at < end) {
    const tag = buf[at++]!;
    const len = length(buf, end);
    if (len < 0) return undefined;
    if (tag === 10) message.unitId = text(buf, len);
    else if (tag === 18) message.environment = text(buf, len);
    else if (tag === 34) message.requestId = text(buf, len);
    else if (tag === 26) {
      const entryEnd = at + len;
      let key = "";
      let value = "";
      while (at < entryEnd) {
        const t = buf[at++]!;
        const n = length(buf, entryEnd);
        if (n < 0) return undefined;
        if (t === 10) key = text(buf, n);
        else if (t === 18) value = text(buf, n);
        else return undefined;
      }
      // A plain object cannot hold "__proto__": the checks refuse it.
      if (key === "__proto__") return undefined;
      message.attributes[key] = value;
    } else return undefined;
  }
  return message;
}

/** A length of at most two varint bytes that fits before `end`, or -1. */
function length(buf: Buffer, end: number): number {
  if (at >= end) return -1;
  let n = buf[at++]!;
  if (n >= 0x80) {
    if (at >= end || buf[at]! >= 0x80) return -1;
    n = (n & 0x7f) | (buf[at++]! << 7);
  }
  return at + n <= end ? n : -1;
}

/**
 * Recently decoded short ASCII strings by a hash of their bytes. Most strings of a GetRequest
 * repeat from call to call (the key, the environment, attribute names and values, unit ids):
 * a hit costs two passes over a few bytes and allocates nothing, and handing on the same
 * string object lets later map lookups reuse its cached hash.
 */
const CACHE_SLOTS = 1024;
const CACHE_MAX_LENGTH = 64;
const cache = new Array<string>(CACHE_SLOTS).fill("");

/** Set when a string was not valid UTF-8: the fast path then gives up and the checks answer. */
let invalidText = false;

function utf8(bytes: Buffer): string {
  if (!isUtf8(bytes)) invalidText = true;
  return decodeUtf8(bytes);
}

/** The string of the next `len` bytes, decoded as ts-proto's reader decodes it. */
function text(buf: Buffer, len: number): string {
  const start = at;
  at += len;
  if (len > CACHE_MAX_LENGTH) return utf8(buf.subarray(start, at));
  let h = 0x811c9dc5 ^ len;
  for (let i = start; i < at; i++) {
    const b = buf[i]!;
    if (b >= 0x80) return utf8(buf.subarray(start, at));
    h = Math.imul(h ^ b, 0x01000193);
  }
  const slot = h & (CACHE_SLOTS - 1);
  const hit = cache[slot]!;
  if (hit.length === len) {
    let i = 0;
    while (i < len && hit.charCodeAt(i) === buf[start + i]) i++;
    if (i === len) return hit;
  }
  return (cache[slot] = buf.toString("latin1", start, at));
}
