import type { AbstractSublevel } from "abstract-level";
import type { ClassicLevel } from "classic-level";

/**
 * Where everything lives in the LevelDB keyspace. The store, the verifier and repair all
 * address the root database with these prefixes: the bytes a sublevel of that name writes.
 */
export const PREFIX = {
  log: Buffer.from("!log!", "latin1"),
  key: Buffer.from("!key!", "latin1"),
  ver: Buffer.from("!ver!", "latin1"),
  time: Buffer.from("!time!", "latin1"),
  head: Buffer.from("!head!", "latin1"),
  meta: Buffer.from("!meta!", "latin1"),
  note: Buffer.from("!note!", "latin1"),
} as const;

export type Section = keyof typeof PREFIX;

/** A section opened as a sublevel of raw bytes (the store reads through these). */
export type Sublevel = AbstractSublevel<ClassicLevel<Buffer, Buffer>, string | Buffer | Uint8Array, Buffer, Buffer>;

export const prefixed = (section: Section, key: Buffer): Buffer => Buffer.concat([PREFIX[section], key]);

/** Bounds that select every key of a section (the prefix itself, then its last possible byte). */
export const sectionRange = (section: Section): { gte: Buffer; lt: Buffer } => {
  const p = PREFIX[section];
  const end = Buffer.from(p);
  end[end.length - 1] = end[end.length - 1]! + 1;
  return { gte: p, lt: end };
};

/** meta keys. */
export const META = {
  schema: prefixed("meta", Buffer.from("schema")),
  head: prefixed("meta", Buffer.from("head")),
  /** SHA-256 of the head record's stored bytes: the tip of the chain. */
  hash: prefixed("meta", Buffer.from("hash")),
  /** The first revision stored with its predecessor's hash (1, or where a schema-1 store was upgraded). */
  chain: prefixed("meta", Buffer.from("chain")),
  /** Revision and hash up to which the log was checked or written by a process that shut down cleanly. */
  checkpoint: prefixed("meta", Buffer.from("checkpoint")),
  /** The last finished compaction's horizon and what vouches for the log below it (see compactor.ts). */
  compact: prefixed("meta", Buffer.from("compact")),
  /** A compaction under way: its horizon is already served, its archive already written. */
  compacting: prefixed("meta", Buffer.from("compacting")),
  /** A batch being written in parts: its revisions (first and last), none of them acknowledged (see unfinished-write.ts). */
  unfinished: prefixed("meta", Buffer.from("unfinished")),
} as const;
