import { setImmediate as tick } from "node:timers/promises";
import v8 from "node:v8";
import vm from "node:vm";
import { describe, expect, it } from "vitest";
import type { LogRecord } from "@ctm/core/record";
import { Entry } from "../../gen/ctm/v1/record.js";
import { entryBytes, valueBytes } from "./wire-cache.js";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const record = (value: LogRecord["value"]): LogRecord => ({ revision: 1, key: "k", version: 1, value, deleted: false, time: 0, author: "a", message: "", kind: "set", cause: "api" });

describe("wire-cache", () => {
  it("shares one encoding per record and per value object", () => {
    const r = record({ big: "x".repeat(1000) });
    expect(entryBytes(r)).toBe(entryBytes(r));
    expect(Entry.decode(entryBytes(r)).value).toEqual({ big: "x".repeat(1000) });
    expect(valueBytes(r.value!)).toBe(valueBytes(r.value!));
  });

  it("encodes a record it is told not to keep afresh each time, and keeps nothing of it", () => {
    const r = record({ old: true });
    const once = entryBytes(r, false);
    expect(Entry.decode(once).value).toEqual({ old: true });
    expect(entryBytes(r, false)).not.toBe(once);
    expect(entryBytes(r, false)).toEqual(once);
    // Kept from the first call that asks for it.
    expect(entryBytes(r)).toBe(entryBytes(r, false));
  });

  it("asks a keep function only while the record's bytes are not cached", () => {
    const head = record({ head: true });
    const read = record({ head: false });
    const asked: LogRecord[] = [];
    const keep = (x: LogRecord): boolean => (asked.push(x), x === head);
    const first = entryBytes(head, keep);
    expect(entryBytes(head, keep)).toBe(first);
    expect(entryBytes(read, keep)).not.toBe(entryBytes(read, keep));
    expect(asked).toEqual([head, read, read]);
  });

  it("holds its entries no longer than their records and values live: it is bounded by live records", async () => {
    const refs: WeakRef<object>[] = [];
    // Made in another function so that no local of this one still points at the last record.
    const encodeSome = (): void => {
      for (let i = 0; i < 50; i++) {
        const r = record({ i, pad: "y".repeat(10_000) });
        entryBytes(r);
        valueBytes(r.value!);
        refs.push(new WeakRef(r), new WeakRef(r.value as object));
      }
    };
    encodeSome();
    await tick();
    for (let i = 0; i < 5 && refs.some((w) => w.deref() !== undefined); i++) {
      await tick();
      gc();
    }
    expect(refs.filter((w) => w.deref() !== undefined)).toHaveLength(0);
  });
});
