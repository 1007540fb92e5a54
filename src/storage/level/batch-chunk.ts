/** From the store to its batch writer: a batch's chunks of entries, then `write` (or `abort`); `close` at the end. */
export type BatchWriterMessage = { chunk: Uint8Array } | { write: true } | { abort: true } | { close: true };
/** From the batch writer: the batch is durable, or why it is not. */
export type BatchWriterReply = { written: true } | { error: string; code?: string | undefined };

const PUT = 0;
const DEL = 1;

/**
 * Writes one batch entry at `at` in `out` (which must have room: 9 bytes and the key's and
 * value's) and returns where the next one goes: a u8 op (put, or del without a value), the
 * key's and the value's u32 lengths, the key, the value.
 */
export function packEntry(out: Buffer, at: number, key: Uint8Array, value: Uint8Array | undefined): number {
  out[at] = value === undefined ? DEL : PUT;
  out.writeUInt32LE(key.length, at + 1);
  out.writeUInt32LE(value?.length ?? 0, at + 5);
  out.set(key, at + 9);
  if (value !== undefined) out.set(value, at + 9 + key.length);
  return at + 9 + key.length + (value?.length ?? 0);
}

/** Calls `put` or `del` for every entry of a chunk, in order, with views into it. */
export function unpackEntries(chunk: Uint8Array, put: (key: Buffer, value: Buffer) => void, del: (key: Buffer) => void): number {
  const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  let at = 0;
  let n = 0;
  while (at < b.length) {
    const op = b[at]!;
    const k = b.readUInt32LE(at + 1);
    const v = b.readUInt32LE(at + 5);
    const key = b.subarray(at + 9, at + 9 + k);
    if (op === PUT) put(key, b.subarray(at + 9 + k, at + 9 + k + v));
    else if (op === DEL) del(key);
    else throw new Error(`batch chunk: unknown op ${op} at byte ${at}`);
    at += 9 + k + v;
    n++;
  }
  return n;
}
