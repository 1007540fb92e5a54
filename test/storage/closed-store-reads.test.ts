import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/domain/clock.js";
import { CtmError } from "../../src/domain/errors.js";
import type { Draft } from "@ctm/core/record";
import { LevelLogStore } from "../../src/storage/level/level-log-store.js";

const set = (key: string, value: number): Draft => ({ key, value, deleted: false, author: "t", message: "", kind: "set", cause: "api" });

let dir = "";
afterEach(() => fs.rm(dir, { recursive: true, force: true }));

/** Every read of the LogStore interface, so none is forgotten. */
const reads = (s: LevelLogStore): Promise<unknown>[] => [
  s.at("k", 5),
  s.version("k", 3),
  s.history("k", 50),
  s.revisionAt(Date.now()),
  s.range(1, 50, 50),
  s.range(1, 50, 50, "k"),
];

describe("LevelLogStore reads around close()", () => {
  it("a read racing close() or after it fails with unavailable, never a LevelDB error", async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-closed-"));
    const store = new LevelLogStore(dir, new ManualClock(1_000_000));
    await store.open();
    for (let i = 0; i < 50; i++) await store.commit(() => [set("k", i)]);

    // Settled as they are issued, so no rejection goes unhandled while close() runs.
    const racing = Promise.allSettled(Array.from({ length: 40 }, () => reads(store)).flat());
    await store.close();
    const after = reads(store);
    const settled = [...(await racing), ...(await Promise.allSettled(after))];
    const failures = settled.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason as unknown);
    // The reads issued after close() must all fail; each failure says "unavailable".
    expect(failures.length).toBeGreaterThanOrEqual(after.length);
    for (const f of failures) {
      expect(f).toBeInstanceOf(CtmError);
      expect((f as CtmError).code).toBe("unavailable");
    }
  });
});
