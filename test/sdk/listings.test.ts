/** CtmClient's browsing calls against a real ctmd: listKeys, listChanges, accessLog.summarize, health.getHealthHistory. */
import { describe, expect, it } from "vitest";
import { PbReason, RecordKind } from "../../clients/ts/src/index.js";
import { client, startDaemon } from "./helpers.js";

describe("the browsing calls of CtmClient", () => {
  it("lists keys with reads, changes newest first, an access summary and an empty health history", async () => {
    const daemon = await startDaemon();
    const c = client(daemon.address, { author: "sdk" });
    try {
      await c.set("shop/a", 1);
      await c.set("shop/b", 2);
      await c.set("shop/a", 3, { author: "eve" });
      await c.get("shop/a");

      const keys = await c.listKeys({ prefix: "shop/" });
      expect(keys.keys.map((k) => [k.entry?.key, k.entry?.value, k.reads, k.rolling])).toEqual([
        ["shop/a", 3, 1, false],
        ["shop/b", 2, 0, false],
      ]);
      const eve = await c.listChanges({ author: "eve" });
      expect(eve.entries.map((e) => [e.key, e.version, e.kind])).toEqual([["shop/a", 2, RecordKind.RECORD_KIND_SET]]);
      const all = await c.listChanges({ prefix: "shop/", limit: 2 });
      expect(all.entries.map((e) => e.revision)).toEqual([3, 2]);
      expect((await c.listChanges({ prefix: "shop/", pageToken: all.nextPageToken })).entries.map((e) => e.revision)).toEqual([1]);

      const t0 = Date.UTC(2026, 5, 1);
      await c.accessLog.upload([
        { key: "shop/a", unitId: "u1", variant: "on", time: new Date(t0 + 1000), reason: PbReason.REASON_VARIANT },
        { key: "shop/a", unitId: "u2", variant: "off", time: new Date(t0 + 61_000), reason: PbReason.REASON_VARIANT },
      ]);
      const s = await c.accessLog.summarize("shop/a", { startTime: new Date(t0), endTime: new Date(t0 + 120_000), bucketMs: 60_000 });
      expect(s.buckets.map((b) => b.variants)).toEqual([{ on: 1 }, { off: 1 }]);
      expect((await c.health.getHealthHistory("shop/a")).points).toEqual([]);
    } finally {
      c.close();
    }
  });
});
