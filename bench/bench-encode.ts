// In process: ctm.v1.Entry bytes of 100,000 records, ctmd's encoder (entry-encoder.ts) against
// the generated one (Entry.encode(toEntry(r))), in alternating rounds. Snapshot pages and Watch
// replays encode every record they send that no Get has encoded before. Then the bytes of records
// read back from the log: written straight from their stored CBOR (stored-entry.ts) against
// decoding each and encoding the record, as a page in the past did before.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { JsonValue } from "@ctm/core/json";
import type { LogRecord } from "@ctm/core/record";
import { formatRate, formatRatio } from "./format.js";
import type { Report } from "./report.js";
import { settings } from "./settings.js";

const RECORDS = 100_000;

async function loadCtm() {
  const distSrc = new URL(import.meta.url.includes("/dist/bench/") ? "../src/" : "../dist/src/", import.meta.url);
  const file = new URL("transport/grpc/entry-encoder.js", distSrc);
  if (!existsSync(file)) throw new Error(`${fileURLToPath(file)} is missing: run \`npm run build\` first (npm run bench does).`);
  const [{ encodeEntry }, { toEntry }, { Entry }, { storedEntry }, { decodeRecord, encodeLogValue }] = await Promise.all([
    import(file.href) as Promise<typeof import("../src/transport/grpc/entry-encoder.js")>,
    import(new URL("transport/grpc/entry-mapper.js", distSrc).href) as Promise<typeof import("../src/transport/grpc/entry-mapper.js")>,
    import(new URL("gen/ctm/v1/record.js", distSrc).href) as Promise<typeof import("../src/gen/ctm/v1/record.js")>,
    import(new URL("transport/grpc/stored-entry.js", distSrc).href) as Promise<typeof import("../src/transport/grpc/stored-entry.js")>,
    import(new URL("storage/level/record-bytes.js", distSrc).href) as Promise<typeof import("../src/storage/level/record-bytes.js")>,
  ]);
  return { encodeEntry, generated: (r: LogRecord) => Entry.encode(toEntry(r)).finish(), storedEntry, decodeRecord, encodeLogValue };
}

/** Records shaped like bench:scale's (about 120 bytes of JSON), every tenth with a nested list and a non-ASCII message. */
function records(): LogRecord[] {
  const value = (i: number): JsonValue =>
    i % 10 === 0 ? { id: i, tags: ["a", "b", { deep: [1.5, null, true] }], note: "é".repeat(20) } : { id: i, generation: 1, owner: `team-${i % 50}`, enabled: i % 3 === 0, note: "n".repeat(40) };
  return Array.from({ length: RECORDS }, (_, i): LogRecord => ({
    revision: i + 1,
    key: `scale/k${String(i).padStart(7, "0")}`,
    version: 1 + (i % 9),
    value: value(i),
    deleted: false,
    time: 1_764_806_400_000 + i * 7,
    author: "bench",
    message: i % 10 === 0 ? "déploiement" : "",
    kind: "set",
    cause: "api",
  }));
}

export async function benchEncode(report: Report, log: (text: string) => void): Promise<void> {
  const ctm = await loadCtm();
  const recs = records();
  let mismatched = 0;
  for (const r of recs) if (Buffer.compare(ctm.encodeEntry(r), Buffer.from(ctm.generated(r))) !== 0) mismatched++;
  report.check(mismatched === 0, `Entry encoding: ctmd's encoder wrote the generated encoder's exact bytes for ${mismatched === 0 ? "all" : RECORDS - mismatched + " of"} ${RECORDS.toLocaleString("en-US")} records`);
  alternate(report, log, "encode", "Entry encoding in process, records/s (ctmd's encoder vs the generated Entry.encode)", recs, ctm.encodeEntry, ctm.generated);

  // As the log stores them: [hash of the record before, record].
  const stored = recs.map((r) => ctm.encodeLogValue(Buffer.alloc(32, 7), r));
  const decoded = (b: Uint8Array): Uint8Array => ctm.encodeEntry(ctm.decodeRecord(b));
  const straight = (b: Uint8Array): Uint8Array => {
    const out = ctm.storedEntry(b);
    if (!(out instanceof Uint8Array)) throw new Error("a record outside storedEntry's subset");
    return out;
  };
  mismatched = 0;
  for (const b of stored) if (Buffer.compare(straight(b), decoded(b)) !== 0) mismatched++;
  report.check(mismatched === 0, `Entry bytes from stored records: storedEntry wrote decodeRecord + encodeEntry's exact bytes for ${mismatched === 0 ? "all" : RECORDS - mismatched + " of"} ${RECORDS.toLocaleString("en-US")} records`);
  alternate(report, log, "stored", "Entry bytes of records read back from the log, in process, records/s (straight from the stored CBOR vs decodeRecord + encodeEntry)", stored, straight, decoded);
}

/** `mine` against `base` over `items`, in alternating rounds: one row with each round's ratio. */
function alternate<T>(report: Report, log: (text: string) => void, name: string, label: string, items: T[], mineFn: (x: T) => Uint8Array, baseFn: (x: T) => Uint8Array): void {
  const run = (encode: (x: T) => Uint8Array): number => {
    const t = performance.now();
    let bytes = 0;
    for (const x of items) bytes += encode(x).length;
    if (bytes === 0) throw new Error("nothing encoded");
    return items.length / ((performance.now() - t) / 1000);
  };
  run(mineFn);
  run(baseFn);
  const mine: number[] = [];
  const base: number[] = [];
  for (let round = 0; round < settings.rounds; round++) {
    // Alternate which goes first, so a slow spell lands on both.
    if (round % 2 === 0) {
      mine.push(run(mineFn));
      base.push(run(baseFn));
    } else {
      base.push(run(baseFn));
      mine.push(run(mineFn));
    }
    log(`${name} round ${round + 1}: ${formatRate(mine[round]!)} vs ${formatRate(base[round]!)} records/s`);
  }
  const ratios = mine.map((m, i) => m / base[i]!).sort((a, b) => a - b);
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  report.row(`${label}; rounds ${mine.map((m, i) => (m / base[i]!).toFixed(2)).join(", ")}`, formatRate(median(mine)), formatRate(median(base)), formatRatio(0, 0, ratios[Math.floor(ratios.length / 2)]!));
}
