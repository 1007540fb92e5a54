import { BinaryWriter } from "@bufbuild/protobuf/wire";
import type { LogRecord } from "@ctm/core/record";
import { encodeSnapshotToken } from "../../service/page-token.js";
import { isStoredBytes, type StoredBytes } from "../../storage/log-store.js";
import { timeSlices, type Pause } from "../../storage/time-slices.js";
import { decodeRecord } from "../../storage/level/record-bytes.js";
import { encodeEntry } from "./entry-encoder.js";
import { storedEntry, TOMBSTONE } from "./stored-entry.js";
import { entryBytes } from "./wire-cache.js";
import { writeHeader } from "./response-header.js";
import type { ResponseHeader } from "../../gen/ctm/v1/record.js";

/**
 * Encoded bytes one Snapshot page may reach. The service bounds a page by stored bytes, which
 * a value of many small numbers can outgrow several times over in protobuf: past this, the page
 * ends at the entry before, so every page fits a client's default 4 MiB.
 */
export const SNAPSHOT_WIRE_BYTES = 3 * 1024 * 1024;

/**
 * How long a page's encoding holds the event loop at a time. A page is several milliseconds of
 * work, made while the page before it is still being sent: that send moves in steps of the
 * client's HTTP/2 window (64 KiB in grpc-js), each waiting for this loop to take the client's
 * window update. Held for the whole page, the send waited for it; let go this often, the two
 * overlap: with Gets meanwhile, a listing of 100,000 records took 0.88× the time of one whose
 * pages were made in one go (alone, where nothing else waits, 0.83–1.11× in two runs). Every
 * 0.5 ms was too seldom to gain anything.
 */
export const SNAPSHOT_ENCODE_SLICE_MS = 0.1;

/** A Snapshot page without its header: revision, entries and next_page_token, encoded. */
export interface SnapshotBody {
  revision: number;
  bytes: Buffer;
  nextPageToken: string;
}

/**
 * A SnapshotResponse without its header, from pre-encoded entries (shared with Get and Watch),
 * cut before the entry that would pass SNAPSHOT_WIRE_BYTES. It does not depend on when it is
 * sent: the header is written at answer time (withHeader).
 */
export async function encodeSnapshotBody(
  page: { revision: number; records: (LogRecord | StoredBytes)[]; nextPageToken: string },
  prefix: string,
  /** Whether to cache a record's entry: a key's current record is sent again (by Get, Watch, the next Snapshot); one read back from the log is not. */
  keep: (r: LogRecord) => boolean = () => true,
  limit = SNAPSHOT_WIRE_BYTES,
  pause: Pause = timeSlices(SNAPSHOT_ENCODE_SLICE_MS),
): Promise<SnapshotBody> {
  const head = new BinaryWriter().uint32(16).uint64(page.revision).finish();
  // The entries are copied once into a buffer of the body's exact size: a growing writer
  // copied each of them twice more.
  const entries: Uint8Array[] = [];
  let size = head.length;
  let token = page.nextPageToken;
  for (let i = 0; i < page.records.length; i++) {
    const turn = pause();
    if (turn) await turn;
    const r = page.records[i]!;
    const b = isStoredBytes(r) ? entryOfStored(r) : entryBytes(r, keep);
    if (b === undefined) continue;
    const field = 1 + varintSize(b.length) + b.length;
    if (size + field > limit && entries.length > 0) {
      token = encodeSnapshotToken({ revision: page.revision, prefix, after: page.records[i - 1]!.key });
      break;
    }
    entries.push(b);
    size += field;
  }
  const tail = token === "" ? undefined : new BinaryWriter().uint32(34).string(token).finish();
  const out = Buffer.allocUnsafe(size + (tail?.length ?? 0));
  out.set(head, 0);
  let at = head.length;
  for (const b of entries) {
    out[at++] = 26;
    for (let n = b.length; ; n >>>= 7) {
      if (n < 0x80) {
        out[at++] = n;
        break;
      }
      out[at++] = (n & 0x7f) | 0x80;
    }
    out.set(b, at);
    at += b.length;
  }
  if (tail) out.set(tail, at);
  return { revision: page.revision, bytes: out, nextPageToken: token };
}

/** A record read back from the log, sent once: written from its stored bytes, or decoded where they leave storedEntry's subset. Undefined for a tombstone. */
function entryOfStored(r: StoredBytes): Uint8Array | undefined {
  const b = storedEntry(r.stored);
  if (b === TOMBSTONE) return undefined;
  if (b !== undefined) return b;
  const record = decodeRecord(r.stored);
  return record.deleted ? undefined : encodeEntry(record);
}

/** The whole SnapshotResponse: the header, written first as ts-proto would, then the body. */
export function withHeader(header: ResponseHeader, body: SnapshotBody): Buffer {
  return Buffer.concat([writeHeader(new BinaryWriter(), header).finish(), body.bytes]);
}

const varintSize = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5);
