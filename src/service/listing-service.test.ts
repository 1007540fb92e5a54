import { afterEach, describe, expect, it } from "vitest";
import { tempStore, type TempStore } from "../../test/helpers/temp-store.js";
import { ListingService } from "./listing-service.js";
import { ReadStats } from "./read-stats.js";

let t: TempStore | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

describe("ListingService.listChanges", () => {
  it("looks at a bounded stretch of the log per call: a narrow filter answers short pages that go on to the match", async () => {
    t = await tempStore("listing");
    await t.config.set({ key: "rare/one", value: 1, author: "zoe" });
    for (let i = 0; i < 250; i++) await t.config.set({ key: `busy/${i % 7}`, value: i, author: "bot" });
    const listing = new ListingService(t.store, t.config, new ReadStats(t.store, t.clock), 100);
    const pages: number[] = [];
    let found: string[] = [];
    let token = "";
    do {
      const page = await listing.listChanges({ prefix: "", author: "zoe", kinds: new Set(), limit: 10, pageToken: token });
      pages.push(page.records.length);
      found = found.concat(page.records.map((r) => r.key));
      token = page.nextPageToken;
    } while (token !== "");
    // 251 records, 100 looked at per call: two empty pages, then the match.
    expect(pages).toEqual([0, 0, 1]);
    expect(found).toEqual(["rare/one"]);
  });

  it("ends a page before the record that would pass about 1 MiB, also at the first record of a stretch, and the next page starts there", async () => {
    t = await tempStore("listing-bytes");
    const big = "b".repeat(250_000);
    // Oldest first: one large change, then four more among 996 small ones by another author, so
    // the newest stretch of 1000 records holds four large ones and the fifth starts the next.
    const revs = [(await t.config.set({ key: "big/0", value: big, author: "zoe" })).revision];
    for (let i = 0; i < 1000; i++) {
      if (i % 250 === 0) revs.push((await t.config.set({ key: `big/${1 + i / 250}`, value: `${i}${big}`, author: "zoe" })).revision);
      else await t.config.set({ key: `small/${i % 9}`, value: i, author: "bot" });
    }
    const listing = new ListingService(t.store, t.config, new ReadStats(t.store, t.clock));
    const pages: number[][] = [];
    let token = "";
    do {
      const page = await listing.listChanges({ prefix: "", author: "zoe", kinds: new Set(), limit: 500, pageToken: token });
      pages.push(page.records.map((r) => r.revision));
      token = page.nextPageToken;
    } while (token !== "");
    expect(pages.filter((p) => p.length > 0)).toEqual([revs.slice(1).reverse(), [revs[0]]]);
  });

  it("refuses a token from beyond the head", async () => {
    t = await tempStore("listing-token");
    await t.config.set({ key: "a", value: 1 });
    const listing = new ListingService(t.store, t.config, new ReadStats(t.store, t.clock));
    const beyond = Buffer.from("h1:99", "utf8").toString("base64url");
    await expect(listing.listChanges({ prefix: "", author: "", kinds: new Set(), limit: 0, pageToken: beyond })).rejects.toMatchObject({ code: "invalid_argument", field: "page_token" });
  });
});
