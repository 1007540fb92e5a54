import { BinaryWriter } from "@bufbuild/protobuf/wire";
import type { LogRecord } from "../../domain/record.js";
import { encodeSnapshotToken } from "../../service/page-token.js";
import { entryBytes, writeHeader } from "./wire-cache.js";

/**
 * Encoded bytes one Snapshot page may reach. The service bounds a page by stored bytes, which
 * a value of many small numbers can outgrow several times over in protobuf: past this, the page
 * ends at the entry before, so every page fits a client's default 4 MiB.
 */
export const SNAPSHOT_WIRE_BYTES = 3 * 1024 * 1024;

/**
 * SnapshotResponse{header, revision, entries, next_page_token} from pre-encoded entries (shared
 * with Get and Watch), cut before the entry that would
 * pass SNAPSHOT_WIRE_BYTES.
 */
export function encodeSnapshotPage(
  page: { revision: number; records: LogRecord[]; nextPageToken: string },
  prefix: string,
  headRevision: number,
  /** Whether to cache a record's entry: a key's current record is sent again (by Get, Watch, the next Snapshot); one read back from the log is not. */
  keep: (r: LogRecord) => boolean = () => true,
  limit = SNAPSHOT_WIRE_BYTES,
): Buffer {
  const w = writeHeader(new BinaryWriter(), headRevision).uint32(16).uint64(page.revision);
  let bytes = 0;
  let token = page.nextPageToken;
  for (let i = 0; i < page.records.length; i++) {
    const r = page.records[i]!;
    const b = entryBytes(r, keep(r));
    bytes += b.length + 6;
    if (bytes > limit && i > 0) {
      token = encodeSnapshotToken({ revision: page.revision, prefix, after: page.records[i - 1]!.key });
      break;
    }
    w.uint32(26).bytes(b);
  }
  if (token !== "") w.uint32(34).string(token);
  return Buffer.from(w.finish());
}
