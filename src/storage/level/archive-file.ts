import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, mkdirSync, openSync, fsyncSync, closeSync, readFileSync, renameSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { createGunzip, createGzip } from "node:zlib";
import { DecoderStream } from "cbor-x";
import type { Disposition } from "../compaction.js";
import { cbor } from "./codec.js";

/** The first item of every archive. */
export interface ArchiveHeader {
  readonly format: typeof FORMAT;
  readonly previousHorizon: number;
  /** Unix ms. */
  readonly created: number;
}

/** The last item: known only once every entry is written. */
export interface ArchiveTrailer {
  readonly horizon: number;
  readonly records: number;
}

/**
 * One record that left the store: what happened to it, its stored bytes as they were (hash
 * chain included), and the revision and time (ms) of its key's next version, when it stopped
 * being live.
 */
export type ArchiveEntry = readonly [Exclude<Disposition, "keep">, Uint8Array, number, number];

const FORMAT = "ctm-archive/1";

/**
 * `ctm-archive-<horizon>-<created>.cbor.gz`, both padded, so names sort as horizons, then
 * compactions, do: two compactions to one horizon (values first, audit records later) keep
 * two archives.
 */
export const archiveName = (horizon: number, created: number): string => `ctm-archive-${String(horizon).padStart(16, "0")}-${String(created).padStart(15, "0")}.cbor.gz`;

/**
 * Writes an archive: a gzip-compressed CBOR sequence, the header, one entry per record, then the
 * trailer with the horizon `horizonOf` names once the entries are written; a `sha256sum`-format
 * checksum file goes beside it. Both are synced and renamed into place, so an archive that
 * exists is whole.
 */
export async function writeArchive(
  dir: string,
  header: Omit<ArchiveHeader, "format">,
  entries: AsyncIterable<ArchiveEntry>,
  horizonOf: () => number,
): Promise<{ file: string; sha256: string; records: number }> {
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `ctm-archive-${process.pid}-${Date.now()}.tmp`);
  const sha = createHash("sha256");
  let records = 0;
  async function* items(): AsyncGenerator<Buffer> {
    yield cbor.encode({ format: FORMAT, ...header });
    for await (const e of entries) {
      records++;
      yield cbor.encode(e);
    }
    yield cbor.encode({ horizon: horizonOf(), records } satisfies ArchiveTrailer);
  }
  const gzip = createGzip();
  gzip.on("data", (chunk: Buffer) => sha.update(chunk));
  try {
    await pipeline(Readable.from(items()), gzip, createWriteStream(tmp));
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  syncFile(tmp);
  let file = join(dir, archiveName(horizonOf(), header.created));
  // Never over another archive: one made in the same millisecond gets the next one's name.
  for (let created = header.created + 1; existsSync(file); created++) file = join(dir, archiveName(horizonOf(), created));
  const sha256 = sha.digest("hex");
  writeFileSync(`${tmp}.sha256`, `${sha256}  ${basename(file)}\n`);
  syncFile(`${tmp}.sha256`);
  renameSync(`${tmp}.sha256`, `${file}.sha256`);
  renameSync(tmp, file);
  syncFile(dir);
  return { file, sha256, records };
}

/** Removes an archive and its checksum file (one that holds no record). */
export function removeArchive(file: string): void {
  rmSync(file, { force: true });
  rmSync(`${file}.sha256`, { force: true });
}

/** The checksum an archive's .sha256 file states. */
export function statedChecksum(file: string): string {
  return readFileSync(`${file}.sha256`, "utf8").split(/\s+/)[0] ?? "";
}

/** SHA-256 (hex) of a file's bytes, streamed. */
export async function fileChecksum(file: string): Promise<string> {
  const sha = createHash("sha256");
  for await (const chunk of createReadStream(file)) sha.update(chunk as Buffer);
  return sha.digest("hex");
}

/**
 * Reads an archive back, checking its bytes against `sha256` (the compaction record's, or the
 * checksum file's) before trusting a single entry.
 */
export async function readArchive(file: string, sha256 = statedChecksum(file)): Promise<{ header: ArchiveHeader; entries: AsyncIterable<ArchiveEntry>; trailer: () => ArchiveTrailer }> {
  const actual = await fileChecksum(file);
  if (actual !== sha256) throw new Error(`${file} is damaged: its SHA-256 is ${actual}, not ${sha256}`);
  const stream = createReadStream(file).pipe(createGunzip()).pipe(new DecoderStream({ useRecords: false, mapsAsObjects: true }));
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<unknown>;
  const first = await it.next();
  const header = first.value as ArchiveHeader | undefined;
  if (first.done || header?.format !== FORMAT) {
    stream.destroy();
    throw new Error(`${file} is not a ctm archive`);
  }
  let trailer: ArchiveTrailer | undefined;
  async function* entries(): AsyncGenerator<ArchiveEntry> {
    let count = 0;
    try {
      for (;;) {
        const n = await it.next();
        if (n.done) break;
        const e = n.value as unknown;
        if (trailer !== undefined) throw new Error(`${file} goes on after its trailer`);
        if (!Array.isArray(e) && typeof e === "object" && e !== null && "horizon" in e) {
          trailer = e as ArchiveTrailer;
          continue;
        }
        if (!Array.isArray(e) || e.length !== 4 || (e[0] !== "remove" && e[0] !== "strip") || !(e[1] instanceof Uint8Array) || typeof e[2] !== "number" || typeof e[3] !== "number") {
          throw new Error(`${file} holds an entry that is not an archived record`);
        }
        count++;
        yield e as unknown as ArchiveEntry;
      }
      if ((trailer as ArchiveTrailer | undefined)?.records !== count) throw new Error(`${file} ends early: ${count} records and no trailer that counts them`);
    } finally {
      stream.destroy();
    }
  }
  return {
    header,
    entries: entries(),
    trailer: () => {
      if (trailer === undefined) throw new Error(`${file}: its trailer is read after its entries`);
      return trailer;
    },
  };
}

/** The archives in `dir`, oldest horizon first. */
export const listArchives = (dir: string): string[] => {
  try {
    return readdirSync(dir).filter((f) => /^ctm-archive-\d{16}-\d{15}\.cbor\.gz$/.test(f)).sort().map((f) => join(dir, f));
  } catch {
    return [];
  }
};

function syncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
