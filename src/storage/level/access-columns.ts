import type { AccessRecord } from "../access-log-store.js";

/**
 * A batch of access records as columns. Structured clone copies an object field by field,
 * which made posting a batch cost microseconds per record; here numbers travel in transferred
 * arrays, the strings that repeat (key, variant, source) once per batch, and only request
 * and unit ids per record.
 */
export interface AccessColumns {
  /** time, version, revision per record. */
  numbers: Float64Array;
  /** Per record, the index of its key, variant, reason and source in `strings`. */
  refs: Int32Array;
  strings: string[];
  requestIds: string[];
  unitIds: string[];
}

const NUMBERS = 3;
const REFS = 4;

export function toColumns(records: readonly AccessRecord[]): AccessColumns {
  const n = records.length;
  const numbers = new Float64Array(n * NUMBERS);
  const refs = new Int32Array(n * REFS);
  const strings: string[] = [];
  const index = new Map<string, number>();
  const ref = (s: string): number => {
    let i = index.get(s);
    if (i === undefined) index.set(s, (i = strings.push(s) - 1));
    return i;
  };
  // Filled by push: a preallocated array is "holey", and structured clone sends holey arrays
  // property by property, several times slower.
  const requestIds: string[] = [];
  const unitIds: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    numbers[i * NUMBERS] = r.time;
    numbers[i * NUMBERS + 1] = r.version;
    numbers[i * NUMBERS + 2] = r.revision;
    refs[i * REFS] = ref(r.key);
    refs[i * REFS + 1] = ref(r.variant);
    refs[i * REFS + 2] = ref(r.reason);
    refs[i * REFS + 3] = ref(r.source);
    requestIds.push(r.requestId);
    unitIds.push(r.unitId);
  }
  return { numbers, refs, strings, requestIds, unitIds };
}

export function fromColumns(c: AccessColumns): AccessRecord[] {
  const out = new Array<AccessRecord>(c.requestIds.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = {
      time: c.numbers[i * NUMBERS]!,
      requestId: c.requestIds[i]!,
      unitId: c.unitIds[i]!,
      key: c.strings[c.refs[i * REFS]!]!,
      version: c.numbers[i * NUMBERS + 1]!,
      revision: c.numbers[i * NUMBERS + 2]!,
      variant: c.strings[c.refs[i * REFS + 1]!]!,
      reason: c.strings[c.refs[i * REFS + 2]!]! as AccessRecord["reason"],
      source: c.strings[c.refs[i * REFS + 3]!]!,
    };
  }
  return out;
}

