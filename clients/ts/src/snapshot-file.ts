import { randomBytes } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { SnapshotResponse } from "./gen/ctm/v1/config_service.js";
import { Entry } from "./gen/ctm/v1/record.js";

/**
 * A bootstrap snapshot: the entries a cache starts from when the daemon cannot be reached,
 * and the revision they reflect.
 */
export interface SnapshotData {
  revision: number;
  entries: Entry[];
}

/**
 * Writes a snapshot as the proto3 JSON of a SnapshotResponse (what
 * `grpcurl ... ctm.v1.ConfigService/Snapshot` prints), atomically: a reader never sees a
 * half-written file.
 */
export async function writeSnapshotFile(path: string, data: SnapshotData): Promise<void> {
  const json = SnapshotResponse.toJSON({ header: { revision: data.revision, oldestRevision: 0 }, revision: data.revision, entries: data.entries, nextPageToken: "" }) as { entries?: unknown[] };
  json.entries?.forEach((e) => mapDurations(e, durationToJson));
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(json, null, 2) + "\n", "utf8");
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Reads a snapshot file: a SnapshotResponse in proto3 JSON (camelCase or snake_case field
 * names, 64-bit numbers as numbers or strings), or a bare JSON array of its entries.
 */
export async function readSnapshotFile(path: string): Promise<SnapshotData> {
  const raw: unknown = JSON.parse(await readFile(path, "utf8"));
  if (Array.isArray(raw)) {
    const entries = raw.map(checkedEntry);
    return { revision: entries.reduce((m, e) => Math.max(m, e.revision), 0), entries };
  }
  if (typeof raw !== "object" || raw === null || !Array.isArray((raw as { entries?: unknown }).entries)) {
    throw new Error(`${path}: not a ctm snapshot (expected a Snapshot response with "entries", or an array of entries)`);
  }
  const snap = SnapshotResponse.fromJSON({ ...raw, entries: [] });
  const entries = (raw as { entries: unknown[] }).entries.map(checkedEntry);
  const revision = snap.revision || snap.header?.revision || entries.reduce((m, e) => Math.max(m, e.revision), 0);
  return { revision, entries };
}

function checkedEntry(x: unknown, i: number): Entry {
  if (typeof x !== "object" || x === null || typeof (x as { key?: unknown }).key !== "string") {
    throw new Error(`snapshot entries[${i}]: not an entry (needs a "key")`);
  }
  const e = Entry.fromJSON(mapDurations(structuredClone(x), durationFromJson));
  if (!Number.isSafeInteger(e.revision) || e.revision <= 0) throw new Error(`snapshot entries[${i}] (${e.key}): needs a positive "revision"`);
  return e;
}

// ts-proto reads and writes google.protobuf.Duration as {seconds, nanos}; proto3 JSON (and
// grpcurl) spell it "300s". Files are written in the canonical form and read in either.
const DURATION_PATHS = [
  ["rollout", "plan", "rings", "interval"],
  ["rollout", "plan", "steps", "interval"],
  ["rollout", "plan", "ramp", "duration"],
  ["rollout", "state", "shift"],
];

function mapDurations<T>(entry: T, f: (v: unknown) => unknown): T {
  for (const path of DURATION_PATHS) {
    let o = entry as Record<string, unknown> | undefined;
    for (const k of path.slice(0, -1)) o = o && typeof o[k] === "object" && o[k] !== null ? (o[k] as Record<string, unknown>) : undefined;
    const last = path[path.length - 1]!;
    if (o !== undefined && o[last] !== undefined) o[last] = f(o[last]);
  }
  return entry;
}

const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

export function durationFromJson(v: unknown): unknown {
  if (typeof v !== "string") return v;
  const m = DURATION.exec(v);
  if (!m) throw new Error(`"${v}" is not a proto3 JSON duration such as "300s" or "1.5s"`);
  const sign = m[1] ? -1 : 1;
  return { seconds: sign * Number(m[2]), nanos: sign * Number((m[3] ?? "").padEnd(9, "0")) };
}

export function durationToJson(v: unknown): unknown {
  if (typeof v !== "object" || v === null) return v;
  const { seconds = 0, nanos = 0 } = v as { seconds?: number; nanos?: number };
  const negative = seconds < 0 || nanos < 0;
  let frac = String(Math.abs(nanos)).padStart(9, "0");
  while (frac.length > 0 && frac.endsWith("000")) frac = frac.slice(0, -3);
  return `${negative ? "-" : ""}${Math.abs(seconds)}${frac ? "." + frac : ""}s`;
}
