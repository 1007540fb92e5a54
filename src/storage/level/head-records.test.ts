import { describe, expect, it } from "vitest";
import { makeRecord, type LogRecord } from "@ctm/core/record";
import { HeadRecords } from "./head-records.js";
import type { Pause } from "../time-slices.js";

let rev = 0;
const rec = (key: string, value: number): LogRecord =>
  makeRecord({ key, value, deleted: false, kind: "set", author: "t", message: "", cause: "api" }, ++rev, 1, 0);

/** A pause that yields at every step, and counts the steps it let other work run. */
function everyStep(): { pause: Pause; yields: () => number } {
  let n = 0;
  return {
    pause: () => new Promise<void>((resolve) => setImmediate(() => (n++, resolve()))),
    yields: () => n,
  };
}

const view = (h: HeadRecords): Record<string, unknown> => Object.fromEntries([...h].map(([k, r]) => [k, r.value]));

describe("HeadRecords", () => {
  it("a staged batch shows every head in one step, and readers see the same heads while it moves in", async () => {
    const h = new HeadRecords();
    for (const k of ["a", "b", "c"]) h.set(rec(k, 1));
    const batch = [rec("b", 2), rec("d", 2), rec("b", 3), rec("e", 2)];
    const staging = everyStep();
    const staged = await h.stage(batch, staging.pause);
    // Nothing shows until show(); staging let other work run between its steps.
    expect(staging.yields()).toBe(batch.length);
    expect(h.get("b")?.value).toBe(1);
    expect(h.get("d")).toBeUndefined();
    expect(h.size).toBe(3);

    h.show(staged);
    const expected = { a: 1, b: 3, c: 1, d: 2, e: 2 };
    expect(view(h)).toEqual(expected);
    expect(h.size).toBe(5);
    expect([...h.values()].map((r) => r.key).sort()).toEqual(["a", "b", "c", "d", "e"]);

    // While the batch moves in, between every step, readers see exactly the shown heads.
    const seen: Record<string, unknown>[] = [];
    const sizes: number[] = [];
    const moving = everyStep();
    const moved = h.moveIn(() => {
      seen.push(view(h));
      sizes.push(h.size);
      return moving.pause();
    });
    expect(() => h.set(rec("z", 1))).toThrow(/still being moved in/);
    await moved;
    expect(moving.yields()).toBeGreaterThan(0);
    for (const s of seen) expect(s).toEqual(expected);
    for (const n of sizes) expect(n).toBe(5);
    expect(view(h)).toEqual(expected);
    expect(h.size).toBe(5);

    // Moved in: single sets work again, and a new batch can be shown.
    h.set(rec("z", 1));
    expect(h.get("z")?.value).toBe(1);
    h.show(await h.stage([rec("a", 9)], () => undefined));
    expect(h.get("a")?.value).toBe(9);
    expect(() => h.show({ heads: new Map(), fresh: 0 })).toThrow(/still being moved in/);
    await h.moveIn(() => undefined);
    expect(h.size).toBe(6);
  });

  it("without a staged batch it is a plain map of heads", () => {
    const h = new HeadRecords();
    h.set(rec("k", 1));
    h.set(rec("k", 2));
    expect(h.get("k")?.value).toBe(2);
    expect(h.size).toBe(1);
    expect(view(h)).toEqual({ k: 2 });
  });
});
