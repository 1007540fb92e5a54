import { describe, expect, it } from "vitest";
import type { LogRecord } from "@ctm/core/record";
import { FollowerStore, type WriterReads } from "./follower-store.js";

const rec = (key: string, revision: number, value: number): LogRecord =>
  ({ key, revision, version: 1, time: 1000 + revision, value, deleted: false, author: "t", message: "", kind: "set", cause: "api" }) as LogRecord;

const writer: WriterReads = {
  pageAt: async () => ({ records: [] }),
  at: async () => undefined,
  version: async () => undefined,
  history: async () => [],
  revisionAt: async () => 0,
  range: async () => [],
  readNote: async () => undefined,
};

describe("FollowerStore", () => {
  it("applies batches that follow its head, and on a gap refuses every call and says once that it is lost", async () => {
    const f = new FollowerStore(writer);
    const lost: string[] = [];
    f.onLost = (e) => lost.push(e.message);
    f.load([rec("a", 3, 1)], 5, { revision: 1, time: 0 });
    f.apply([rec("a", 6, 2), rec("b", 7, 1)]);
    expect(f.latest("a")?.value).toBe(2);
    expect(f.headRevision).toBe(7);
    expect(f.healthy).toBe(true);
    f.apply([rec("a", 9, 3)]);
    f.apply([rec("a", 10, 4)]);
    expect(lost).toEqual(["this follower expected revision 8 and was sent 9; it must restart"]);
    expect(f.healthy).toBe(false);
    expect(f.latest("a")?.value).toBe(2);
    await expect(f.history("a", 10)).rejects.toMatchObject({ code: "unavailable" });
  });
});
