import { createHash, type Hash } from "node:crypto";
import { u64 } from "./level/codec.js";
import { recordHash } from "./level/record-bytes.js";

/**
 * What vouches for the log below a compaction horizon once the chain there has gaps and stripped
 * records: SHA-256 over the predecessor hash the record at the horizon names, then each remaining
 * record's revision and the hash of its stored bytes, in revision order. Compaction notes it when
 * it ends; a verifier recomputes it and compares.
 */
export class BelowDigest {
  private readonly sha: Hash = createHash("sha256");
  constructor(prevHash: Uint8Array) {
    this.sha.update(prevHash);
  }
  add(revision: number, bytes: Uint8Array): void {
    this.sha.update(u64(revision));
    this.sha.update(recordHash(bytes));
  }
  finish(): Buffer {
    return this.sha.digest();
  }
}
