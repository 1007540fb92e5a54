import { setImmediate as tick } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { SnapshotReadAhead } from "./snapshot-read-ahead.js";
import type { SnapshotBody } from "./snapshot-response.js";

/** A listing of `pages` pages at `revision`: token "" is the first page, "t<n>" page n. */
function listing(pages: number, revision = 5) {
  const reads: string[] = [];
  const read = async (token: string): Promise<SnapshotBody> => {
    reads.push(token);
    const n = token === "" ? 0 : Number(token.slice(1));
    return { revision, bytes: Buffer.from(`page ${n}`), nextPageToken: n + 1 < pages ? `t${n + 1}` : "" };
  };
  return { reads, read };
}

const served = () => true;
const req = (pageToken: string, prefix = "p/") => ({ prefix, pageSize: 0, pageToken });

describe("SnapshotReadAhead", () => {
  it("answers each page of a listing walked in order from the page read ahead, reading each once", async () => {
    const ahead = new SnapshotReadAhead();
    const { reads, read } = listing(4);
    const got: string[] = [];
    let token = "";
    do {
      const body = await ahead.page(req(token), read, served);
      got.push(body.bytes.toString());
      token = body.nextPageToken;
      // The client takes its time with the page; meanwhile the next one is read.
      await tick();
      expect(reads.at(-1)).toBe(token === "" ? "t3" : token);
    } while (token !== "");
    expect(got).toEqual(["page 0", "page 1", "page 2", "page 3"]);
    expect(reads).toEqual(["", "t1", "t2", "t3"]);
    expect(ahead.size).toBe(0);
  });

  it("waits for a page still being read ahead instead of reading it twice", async () => {
    const ahead = new SnapshotReadAhead();
    const { reads, read } = listing(2);
    await ahead.page(req(""), read, served);
    // Asked at once, before the read ahead has even started.
    expect((await ahead.page(req("t1"), read, served)).bytes.toString()).toBe("page 1");
    expect(reads).toEqual(["", "t1"]);
  });

  it("reads again a page whose revision is no longer served, or whose read ahead failed", async () => {
    const ahead = new SnapshotReadAhead();
    const { reads, read } = listing(3, 7);
    await ahead.page(req(""), read, served);
    await tick();
    // A compaction has passed revision 7 since: the page is read again, and that read answers.
    const refused = async (token: string): Promise<SnapshotBody> => {
      reads.push(`again ${token}`);
      throw new Error("below the horizon");
    };
    await expect(ahead.page(req("t1"), refused, (revision) => revision > 7)).rejects.toThrow("below the horizon");
    expect(reads).toEqual(["", "t1", "again t1"]);

    let fail = true;
    const flaky = async (token: string): Promise<SnapshotBody> => {
      if (fail) {
        fail = false;
        throw new Error("closed");
      }
      return read(token);
    };
    await ahead.page(req(""), flaky, served).catch(() => undefined);
    await ahead.page(req(""), flaky, served);
    await tick();
    expect((await ahead.page(req("t1"), read, served)).bytes.toString()).toBe("page 1");
  });

  it("keeps pages per prefix, page size and token, and never for a request with another prefix", async () => {
    const ahead = new SnapshotReadAhead();
    const { reads, read } = listing(2);
    await ahead.page(req(""), read, served);
    await tick();
    await ahead.page(req("t1", "q/"), read, served);
    await ahead.page({ prefix: "p/", pageSize: 9, pageToken: "t1" }, read, served);
    expect(reads).toEqual(["", "t1", "t1", "t1"]);
    expect(ahead.size).toBe(1);
  });

  it("holds a few pages at most, the oldest dropped first, and each for a limited time", async () => {
    const ahead = new SnapshotReadAhead(2, 50);
    const { reads, read } = listing(2);
    for (const prefix of ["a/", "b/", "c/"]) await ahead.page(req("", prefix), read, served);
    expect(ahead.size).toBe(2);
    await tick();
    await ahead.page(req("t1", "a/"), read, served);
    expect(reads.filter((r) => r === "t1")).toHaveLength(3);
    await new Promise((r) => setTimeout(r, 80));
    expect(ahead.size).toBe(0);
  });

  it("reads nothing ahead after the last page", async () => {
    const ahead = new SnapshotReadAhead();
    const { reads, read } = listing(1);
    await ahead.page(req(""), read, served);
    await tick();
    expect(reads).toEqual([""]);
    expect(ahead.size).toBe(0);
  });
});
