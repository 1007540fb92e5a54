import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/domain/clock.js";
import { describeLogStore, T0 } from "../../src/storage/log-store.conformance.js";
import { LevelLogStore } from "../../src/storage/level/level-log-store.js";

describeLogStore("LevelLogStore", async (clock) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-level-"));
  let store = new LevelLogStore(dir, clock);
  await store.open();
  return {
    store,
    reopen: async () => {
      await store.close();
      store = new LevelLogStore(dir, clock);
      await store.open();
      return store;
    },
    cleanup: async () => {
      await store.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
});

describe("LevelLogStore specifics", () => {
  it("refuses a data directory with another schema version, and stays closed", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-level-"));
    try {
      const clock = new ManualClock(T0);
      const a = new LevelLogStore(dir, clock);
      await a.open();
      await a.commit(() => [{ key: "k", value: 1, deleted: false, author: "t", message: "", kind: "set", cause: "api" }]);
      await a.close();
      // Rewrite meta!schema the way a future ctmd would.
      const { Level } = await import("level");
      const db = new Level<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
      const meta = db.sublevel<Buffer, Buffer>("meta", { keyEncoding: "buffer", valueEncoding: "buffer" });
      const future = Buffer.alloc(8);
      future.writeBigUInt64BE(99n);
      await meta.put(Buffer.from("schema"), future);
      await db.close();
      const b = new LevelLogStore(dir, clock);
      await expect(b.open()).rejects.toMatchObject({ code: "failed_precondition", message: expect.stringContaining("schema 99") });
      expect(b.healthy).toBe(false);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
