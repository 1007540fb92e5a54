import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../domain/clock.js";
import { CtmError } from "../domain/errors.js";
import type { Draft } from "@ctm/core/record";
import { resolvePoint } from "../service/point-in-time.js";
import { LevelLogStore } from "../storage/level/level-log-store.js";
import { WatchHub } from "./watch-hub.js";

/**
 * The real LevelDB store, reporting an oldest revision of 5 as a compacted
 * store will (ctm has no compaction yet, so no store reports one on its own).
 */
class CompactedStore extends LevelLogStore {
  override get firstRevision(): number {
    return 5;
  }
}

const set = (key: string, value: number): Draft => ({ key, value, deleted: false, author: "t", message: "", kind: "set", cause: "api" });

let dir = "";
afterEach(() => fs.rm(dir, { recursive: true, force: true }));

const errorOf = async (f: () => unknown): Promise<CtmError> => {
  try {
    await f();
  } catch (e) {
    if (e instanceof CtmError) return e;
    throw e;
  }
  throw new Error("expected a CtmError");
};

describe("a watch from before the oldest revision", () => {
  it("is OUT_OF_RANGE naming the oldest revision, as a point read is", async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-oldest-"));
    const clock = new ManualClock(1_000_000);
    const store = new CompactedStore(dir, clock);
    await store.open();
    for (let i = 0; i < 8; i++) await store.commit(() => [set("k", i)]);
    const hub = new WatchHub(store);

    const watchErr = await errorOf(() => hub.watch({ key: "k", prefix: false }, 3));
    const readErr = await errorOf(() => resolvePoint(store, clock, { revision: 3 }, "at"));
    expect(readErr.code).toBe("out_of_range");
    expect(watchErr.code).toBe(readErr.code);
    expect(watchErr.field).toBe("start_revision");
    expect(watchErr.details).toEqual({ oldest: 5 });
    expect(watchErr.details).toEqual(readErr.details);
    expect(watchErr.message).toBe("start_revision: revision 3 was compacted; the oldest revision served is 5: read a Snapshot, then watch from its revision + 1");

    // The oldest revision itself and 0 ("from now on") are fine.
    const w = hub.watch({ key: "k", prefix: false }, 5);
    expect((await w.next()).value.map((r: { revision: number }) => r.revision)).toEqual([5, 6, 7, 8]);
    hub.watch({ key: "k", prefix: false }, 0).close();
    hub.close();
    await store.close();
  });
});
