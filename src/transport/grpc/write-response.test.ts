import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApplyResponse, RollbackPrefixResponse, SetResponse } from "../../gen/ctm/v1/config_service.js";
import type { ResponseHeader } from "../../gen/ctm/v1/record.js";
import { record } from "../../../test/helpers/record-arbitrary.js";
import { toEntry } from "./entry-mapper.js";
import { encodeWriteResponse, encodeWriteResponseInSlices } from "./write-response.js";

const header = fc.oneof(
  fc.record({ revision: fc.nat(), oldestRevision: fc.nat() }),
  fc.record({ revision: fc.nat(), oldestRevision: fc.integer({ min: 1 }), oldestTime: fc.integer({ min: 0, max: 4e12 }).map((ms) => new Date(ms)) }),
) as fc.Arbitrary<ResponseHeader>;

describe("encodeWriteResponse", () => {
  it("writes SetResponse, ApplyResponse and RollbackPrefixResponse byte for byte as ts-proto does", () => {
    fc.assert(
      fc.property(header, fc.array(record, { maxLength: 4 }), fc.array(fc.oneof(fc.constant(0), fc.nat()), { minLength: 4, maxLength: 4 }), (h, records, [revision, restored, first, last]) => {
        const set = records[0];
        if (set) expect(encodeWriteResponse(h, [[2, set]])).toEqual(Buffer.from(SetResponse.encode({ header: h, entry: toEntry(set) }).finish()));
        expect(encodeWriteResponse(h, [[2, records]])).toEqual(Buffer.from(ApplyResponse.encode({ header: h, entries: records.map(toEntry) }).finish()));
        const rollback = encodeWriteResponse(h, [
          [2, revision!],
          [3, records],
          [4, restored!],
          [5, first!],
          [6, last!],
        ]);
        expect(rollback).toEqual(Buffer.from(RollbackPrefixResponse.encode({ header: h, revision: revision!, entries: records.map(toEntry), restored: restored!, firstRevision: first!, lastRevision: last! }).finish()));
      }),
      { numRuns: 500 },
    );
  });

  it("decodes back to the records' entries, zeros left out", () => {
    const [a, b] = fc.sample(record, { numRuns: 2, seed: 7 });
    const bytes = encodeWriteResponse({ revision: 9, oldestRevision: 0 }, [
      [2, 0],
      [3, [a!, b!]],
      [4, 2],
      [5, 0],
      [6, 8],
    ]);
    const got = RollbackPrefixResponse.decode(bytes);
    expect(got).toEqual({ header: { revision: 9, oldestRevision: 0, oldestTime: undefined }, revision: 0, entries: [toEntry(a!), toEntry(b!)], restored: 2, firstRevision: 0, lastRevision: 8 });
  });

  it("writes the same bytes when its entries are encoded a slice at a time, letting the event loop turn between slices", async () => {
    const records = fc.sample(record, { numRuns: 40, seed: 11 });
    const fields = [
      [2, 40],
      [3, records],
      [4, 40],
      [5, 1],
      [6, 40],
    ] as const;
    const h: ResponseHeader = { revision: 40, oldestRevision: 1 };
    let asked = 0;
    let turns = 0;
    // A pause that gives the event loop a turn after every 8 entries.
    const pause = () => (++asked % 8 === 0 ? new Promise<void>((resolve) => setImmediate(() => (turns++, resolve()))) : undefined);
    const sliced = await encodeWriteResponseInSlices(h, fields, pause);
    expect(sliced).toEqual(encodeWriteResponse(h, fields));
    expect(asked).toBe(40);
    expect(turns).toBe(5);
  });
});
