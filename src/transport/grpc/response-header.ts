import { Timestamp } from "../../gen/google/protobuf/timestamp.js";
import type { ResponseHeader } from "../../gen/ctm/v1/record.js";
import type { BinaryWriter } from "@bufbuild/protobuf/wire";

/** What every response header tells: the head, and the oldest revision still served (see compaction). */
export interface HeaderSource {
  readonly headRevision: number;
  readonly horizon: { readonly revision: number; readonly time: number };
}

export function headerOf(s: HeaderSource): ResponseHeader {
  const { revision, time } = s.horizon;
  return time > 0 ? { revision: s.headRevision, oldestRevision: revision, oldestTime: new Date(time) } : { revision: s.headRevision, oldestRevision: revision };
}

/** Field 1 of every response, ResponseHeader, written as ts-proto writes it. */
export function writeHeader(w: BinaryWriter, h: ResponseHeader): BinaryWriter {
  w.uint32(10).fork().uint32(8).uint64(h.revision);
  if (h.oldestRevision !== 0) w.uint32(16).uint64(h.oldestRevision);
  if (h.oldestTime !== undefined) {
    const ms = h.oldestTime.getTime();
    Timestamp.encode({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 }, w.uint32(26).fork()).join();
  }
  return w.join();
}
