import { Timestamp } from "../../gen/google/protobuf/timestamp.js";
import type { ResponseHeader } from "../../gen/ctm/v1/record.js";
import type { BinaryWriter } from "@bufbuild/protobuf/wire";

/** What every response header tells: the head, and the oldest revision still served (see compaction). */
export interface HeaderSource {
  readonly headRevision: number;
  readonly firstRevision: number;
  readonly firstTime: number;
}

// The header of the last call, per source: every call between two commits shares it.
const last = new WeakMap<HeaderSource, ResponseHeader>();

/** The current header of `s`. Shared between calls: never changed by its callers. */
export function headerOf(s: HeaderSource): ResponseHeader {
  const head = s.headRevision;
  const first = s.firstRevision;
  let h = last.get(s);
  if (h === undefined || h.revision !== head || h.oldestRevision !== first) {
    const time = s.firstTime;
    h = time > 0 ? { revision: head, oldestRevision: first, oldestTime: new Date(time) } : { revision: head, oldestRevision: first };
    last.set(s, h);
  }
  return h;
}

/** Field 1 of every response, ResponseHeader, written as ts-proto writes it. */
export function writeHeader(w: BinaryWriter, h: ResponseHeader): BinaryWriter {
  w.uint32(10).fork();
  if (h.revision !== 0) w.uint32(8).uint64(h.revision);
  if (h.oldestRevision !== 0) w.uint32(16).uint64(h.oldestRevision);
  if (h.oldestTime !== undefined) {
    const ms = h.oldestTime.getTime();
    Timestamp.encode({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 }, w.uint32(26).fork()).join();
  }
  return w.join();
}
