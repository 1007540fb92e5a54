import { readU64, u64 } from "../level/codec.js";

/** meta/head's value: the last revision and the hash of its record. */
export const headValue = (rev: number, hash: Buffer): Buffer => Buffer.concat([u64(rev), hash]);

export function readHead(v: Uint8Array): { rev: number; hash: Buffer } {
  return { rev: readU64(v), hash: Buffer.from(v.subarray(8, 40)) };
}
