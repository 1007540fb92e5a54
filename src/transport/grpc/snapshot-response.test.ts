import { describe, expect, it } from "vitest";
import type { LogRecord } from "@ctm/core/record";
import { SnapshotResponse } from "../../gen/ctm/v1/config_service.js";
import { decodeSnapshotToken } from "../../service/page-token.js";
import { buildRollout } from "../../domain/rollout/build-rollout.js";
import { encodeLogValue } from "../../storage/level/record-bytes.js";
import { toEntry } from "./entry-mapper.js";
import { timeSlices } from "../../storage/time-slices.js";
import { encodeSnapshotBody, withHeader } from "./snapshot-response.js";

const record = (key: string, value: LogRecord["value"], revision: number): LogRecord =>
  ({ key, value, deleted: false, version: 1, revision, time: 1_700_000_000_000, author: "a", message: "m", kind: "set", cause: "api" }) as LogRecord;

/** The whole response, as the Snapshot handler answers it. */
const encodeSnapshotPage = async (page: Parameters<typeof encodeSnapshotBody>[0], prefix: string, header: Parameters<typeof withHeader>[0], keep?: (r: LogRecord) => boolean, limit?: number): Promise<Buffer> =>
  withHeader(header, await encodeSnapshotBody(page, prefix, keep, limit));

describe("encodeSnapshotBody and withHeader", () => {
  it("is the SnapshotResponse ts-proto would encode", async () => {
    const records = [record("p/a", { x: 1, y: [true, null, "s"] }, 3), record("p/b", "v", 4)];
    const decoded = SnapshotResponse.decode(await encodeSnapshotPage({ revision: 4, records, nextPageToken: "tok" }, "p/", { revision: 9, oldestRevision: 1 }));
    expect(decoded).toEqual({ header: { revision: 9, oldestRevision: 1 }, revision: 4, entries: records.map(toEntry), nextPageToken: "tok" });
  });

  it("writes ts-proto's exact bytes, with entries whose lengths take one, two and three bytes", async () => {
    const records = [record("p/a", 1, 1), record("p/b", "x".repeat(300), 2), record("p/c", "y".repeat(20_000), 3)];
    for (const nextPageToken of ["", "tok"]) {
      const page = { revision: 3, records, nextPageToken };
      // Before any compaction, and after one (the header then names the oldest revision and its time).
      for (const header of [{ revision: 7, oldestRevision: 1 }, { revision: 7, oldestRevision: 3, oldestTime: new Date(1_700_000_000_123) }]) {
        const expected = SnapshotResponse.encode({ header, revision: 3, entries: records.map(toEntry), nextPageToken }).finish();
        expect((await encodeSnapshotPage(page, "p/", header)).equals(expected)).toBe(true);
      }
    }
  });

  it("writes records read back from the log from their stored bytes, leaves their tombstones out, and decodes those it cannot write", async () => {
    const plan = buildRollout({ percentage: { kind: "steps", start: 10, increment: 20, intervalMs: 60_000, target: 100 } }, { key: "p/c", value: 2, currentStable: 1, now: 1_700_000_000_000 });
    const live = [record("p/a", { x: 1, y: [true, null, "s"] }, 3), record("p/b", "v", 4), { ...record("p/c", 2, 5), rollout: plan }, record("p/e", { 7: "index-like" }, 7)];
    const tombstone = { ...record("p/d", undefined, 6), deleted: true, kind: "delete" } as LogRecord;
    const stored = (r: LogRecord) => ({ key: r.key, revision: r.revision, stored: encodeLogValue(Buffer.alloc(32), r) });
    // A head in memory among them, as a page in the past holds the keys not changed since.
    const records = [stored(live[0]!), live[1]!, stored(live[2]!), stored(tombstone), stored(live[3]!)];
    const body = await encodeSnapshotBody({ revision: 7, records, nextPageToken: "" }, "p/");
    expect(SnapshotResponse.decode(withHeader({ revision: 7, oldestRevision: 1 }, body)).entries).toEqual(live.map(toEntry));
    // A budget that the second entry passes: the token names the last entry sent.
    const cut = SnapshotResponse.decode(withHeader({ revision: 7, oldestRevision: 1 }, await encodeSnapshotBody({ revision: 7, records: [stored(tombstone), ...records], nextPageToken: "" }, "p/", () => true, 60)));
    expect(cut.entries.map((e) => e.key)).toEqual(["p/a"]);
    expect(decodeSnapshotToken(cut.nextPageToken, "p/")).toEqual({ revision: 7, prefix: "p/", after: "p/a" });
  });

  it("ends a page before the entry that would pass the wire budget, with a token that starts at it", async () => {
    // Small numbers cost one or two stored bytes each and eleven in protobuf.
    const zeros = Array.from({ length: 1000 }, () => 0);
    const records = ["p/a", "p/b", "p/c", "p/d"].map((k, i) => record(k, zeros, i + 1));
    const decoded = SnapshotResponse.decode(await encodeSnapshotPage({ revision: 4, records, nextPageToken: "" }, "p/", { revision: 4, oldestRevision: 1 }, () => true, 25_000));
    expect(decoded.entries.map((e) => e.key)).toEqual(["p/a", "p/b"]);
    expect(decodeSnapshotToken(decoded.nextPageToken, "p/")).toEqual({ revision: 4, prefix: "p/", after: "p/b" });
    // A single entry over the budget is still sent: a page holds at least one.
    expect(SnapshotResponse.decode(await encodeSnapshotPage({ revision: 4, records, nextPageToken: "" }, "p/", { revision: 4, oldestRevision: 1 }, () => true, 10)).entries).toHaveLength(1);
  });

  it("ends a page on a stored record that would pass the budget, and leaves nothing of one page in the next", async () => {
    const stored = (r: LogRecord) => ({ key: r.key, revision: r.revision, stored: encodeLogValue(Buffer.alloc(32), r) });
    const big = ["p/a", "p/b", "p/c", "p/d", "p/e"].map((k, i) => record(k, { blob: `${k}:`.repeat(10_000) }, i + 1));
    const header = { revision: 5, oldestRevision: 1 };
    const whole = await encodeSnapshotPage({ revision: 5, records: big.map(stored), nextPageToken: "" }, "p/", header);
    expect(whole.equals(SnapshotResponse.encode({ header, revision: 5, entries: big.map(toEntry), nextPageToken: "" }).finish())).toBe(true);
    // Each entry is about 40 KB: three fit 130,000 bytes, the fourth is left for the next page.
    const cut = SnapshotResponse.decode(await encodeSnapshotPage({ revision: 5, records: big.map(stored), nextPageToken: "" }, "p/", header, () => true, 130_000));
    expect(cut.entries.map((e) => e.key)).toEqual(["p/a", "p/b", "p/c"]);
    expect(decodeSnapshotToken(cut.nextPageToken, "p/")).toEqual({ revision: 5, prefix: "p/", after: "p/c" });
    const small = [record("p/z", 1, 6)];
    const next = await encodeSnapshotPage({ revision: 6, records: small.map(stored), nextPageToken: "" }, "p/", header);
    expect(next.equals(SnapshotResponse.encode({ header, revision: 6, entries: small.map(toEntry), nextPageToken: "" }).finish())).toBe(true);
  });

  it("lets the event loop turn while it encodes a page, so a page being sent meanwhile keeps moving", async () => {
    const stored = (r: LogRecord) => ({ key: r.key, revision: r.revision, stored: encodeLogValue(Buffer.alloc(32), r) });
    const records = Array.from({ length: 2000 }, (_, i) => stored(record(`p/${String(i).padStart(5, "0")}`, { i, note: "n".repeat(200) }, i + 1)));
    // Stands for the I/O of a send: each turn of the loop it runs once more, until the page is made.
    let turns = 0;
    let done = false;
    const count = (): void => {
      turns++;
      if (!done) setImmediate(count);
    };
    setImmediate(count);
    const body = await encodeSnapshotBody({ revision: 2000, records, nextPageToken: "" }, "p/", () => true, undefined, timeSlices(0));
    done = true;
    // A pause every 16 records: about 124 turns while the page was made, against none in one go.
    expect(turns).toBeGreaterThanOrEqual(Math.floor(records.length / 16) - 1);
    expect(SnapshotResponse.decode(withHeader({ revision: 2000, oldestRevision: 1 }, body)).entries).toHaveLength(2000);
  });
});
