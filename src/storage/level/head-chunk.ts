/** What the head reader posts: a chunk of head records, the end, or why it stopped. */
export type HeadReaderMessage = { chunk: Uint8Array } | { done: true } | { error: string; code?: string | undefined };

const MISSING = 0xffff_ffff;

/**
 * Packs a batch of head records into one transferable buffer: per record a u32 length (MISSING
 * when the log lacks the revision the head index names), the 8-byte revision, its stored bytes.
 */
export function packRecords(revs: readonly Uint8Array[], records: readonly (Uint8Array | undefined)[]): Uint8Array {
  let size = 0;
  for (let i = 0; i < records.length; i++) size += 12 + (records[i]?.length ?? 0);
  const out = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    out.writeUInt32LE(r === undefined ? MISSING : r.length, at);
    out.set(revs[i]!, at + 4);
    if (r !== undefined) out.set(r, at + 12);
    at += 12 + (r?.length ?? 0);
  }
  return out;
}

/** Calls `each` with every record's stored bytes (undefined when missing) and its revision's bytes. */
export function unpackRecords(chunk: Uint8Array, each: (bytes: Uint8Array | undefined, rev: Uint8Array) => void): number {
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  let at = 0;
  let n = 0;
  while (at < chunk.length) {
    const len = view.getUint32(at, true);
    const rev = chunk.subarray(at + 4, at + 12);
    if (len === MISSING) {
      each(undefined, rev);
      at += 12;
    } else {
      each(chunk.subarray(at + 12, at + 12 + len), rev);
      at += 12 + len;
    }
    n++;
  }
  return n;
}
