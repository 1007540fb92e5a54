import { describe, expect, it } from "vitest";
import { u64 } from "./codec.js";
import { packRecords, unpackRecords } from "./head-chunk.js";

describe("head chunks", () => {
  it("carry each record's bytes and revision, an empty record, and a missing one, in order", () => {
    const revs = [u64(7), u64(2 ** 40 + 3), u64(9), u64(Number.MAX_SAFE_INTEGER)];
    const records = [Buffer.from("abc"), undefined, Buffer.alloc(0), Buffer.from("é😀", "utf8")];
    const seen: [string | undefined, string][] = [];
    const n = unpackRecords(packRecords(revs, records), (bytes, rev) => seen.push([bytes === undefined ? undefined : Buffer.from(bytes).toString("utf8"), Buffer.from(rev).toString("hex")]));
    expect(n).toBe(4);
    expect(seen).toEqual([
      ["abc", u64(7).toString("hex")],
      [undefined, u64(2 ** 40 + 3).toString("hex")],
      ["", u64(9).toString("hex")],
      ["é😀", u64(Number.MAX_SAFE_INTEGER).toString("hex")],
    ]);
  });

  it("read back from a copy at another offset, as a transferred buffer arrives", () => {
    const packed = packRecords([u64(1), u64(2)], [Buffer.from("x"), Buffer.from("yz")]);
    const host = new Uint8Array(packed.length + 5);
    host.set(packed, 5);
    const out: string[] = [];
    unpackRecords(host.subarray(5), (bytes) => out.push(Buffer.from(bytes!).toString()));
    expect(out).toEqual(["x", "yz"]);
  });
});
