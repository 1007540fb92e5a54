import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ALL_REASONS } from "../../../test/helpers/all-reasons.js";
import { buildJs } from "../../../test/helpers/build-js.js";
import type { AccessLogStore, AccessQuery, AccessRecord } from "../access-log-store.js";
import { accessBatch } from "../access-batch.js";
import { LevelAccessLogStore } from "./level-access-log-store.js";
import * as fromSource from "./threaded-access-log-store.js";

type ThreadedModule = typeof fromSource;


const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "ctm-access-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Opens a store and closes it after the test (a closed store's close() is a no-op for both kinds). */
async function opened<S extends AccessLogStore>(s: S): Promise<S> {
  await s.open();
  cleanups.push(() => s.close().catch(() => undefined));
  return s;
}

const T = 1_760_000_000_000;
const rec = (time: number, requestId: string, unitId: string, key: string, extra: Partial<AccessRecord> = {}): AccessRecord => ({
  time,
  requestId,
  unitId,
  key,
  version: 3,
  revision: 41,
  variant: "new",
  reason: "in_rollout",
  source: "grpc",
  ...extra,
});

/** A hand-made log: repeated ids and keys, ids left empty (not indexed), equal times, non-ASCII and NUL. */
const SCENARIO: AccessRecord[][] = [
  [
    rec(T, "req-1", "alice", "checkout"),
    rec(T, "req-1", "alice", "static.key", { variant: "", reason: "static" }),
    rec(T, "req-2", "bob", "checkout", { variant: "stable", reason: "out_of_rollout" }),
    rec(T + 1, "", "alice", "checkout", { reason: "early_adopter" }),
    rec(T + 1, "anon-1", "", "checkout"),
  ],
  [
    rec(T + 2, "要求-7", "ユーザー", "ключ", { variant: "😀", source: "http" }),
    rec(T + 2, "req-1", "bob", "a", { reason: "pinned" }),
    rec(T + 2, "req-1\0x", "bob", "a\0", { reason: "rule_match" }),
    rec(T + 5, "req-3", "alice", "checkout", { reason: "rolled_back", version: 4, revision: 57 }),
  ],
  [],
  Array.from({ length: 30 }, (_, i) => rec(T + 10 + (i % 7), `bulk-${i % 4}`, `unit-${i % 5}`, i % 2 ? "checkout" : "static.key", { revision: 100 + i })),
];

/** What a query must list, from the records alone: matching, newest first, later appends first among equal times. */
function model(all: readonly AccessRecord[], q: Omit<AccessQuery, "limit" | "before">): AccessRecord[] {
  return all
    .map((r, i) => ({ r, i }))
    .filter(
      ({ r }) =>
        (!q.requestId || r.requestId === q.requestId) &&
        (!q.unitId || r.unitId === q.unitId) &&
        (!q.key || r.key === q.key) &&
        (q.from === undefined || r.time >= q.from) &&
        (q.to === undefined || r.time <= q.to),
    )
    .sort((a, b) => b.r.time - a.r.time || b.i - a.i)
    .map(({ r }) => r);
}

/** The queries to compare on: each filter alone and combined, time ranges, several page sizes. */
function queriesFor(all: readonly AccessRecord[]): Omit<AccessQuery, "before">[] {
  const uniq = (xs: string[]) => [...new Set(xs)];
  const times = all.map((r) => r.time);
  const lo = Math.min(...times, T);
  const hi = Math.max(...times, T);
  const mid = Math.floor((lo + hi) / 2);
  const filters: Omit<AccessQuery, "limit" | "before">[] = [
    {},
    ...uniq(all.map((r) => r.requestId)).map((requestId) => ({ requestId })),
    ...uniq(all.map((r) => r.unitId)).map((unitId) => ({ unitId })),
    ...uniq(all.map((r) => r.key)).map((key) => ({ key })),
    { requestId: "nobody" },
    { unitId: "alice", key: "checkout" },
    { requestId: "req-1", unitId: "bob" },
    { from: mid },
    { to: mid },
    { from: lo + 1, to: hi - 1 },
    { from: hi + 1 },
    { key: "checkout", from: lo + 1, to: mid },
    { unitId: "alice", to: lo },
  ];
  return filters.flatMap((f) => [1, 2, 3, 1000].map((limit) => ({ ...f, limit })));
}

type Page = { records: AccessRecord[]; next?: Buffer };

/** Every page of a query, following `next` as `before`. */
async function pages(s: AccessLogStore, q: Omit<AccessQuery, "before">): Promise<Page[]> {
  const out: Page[] = [];
  let before: Buffer | undefined;
  for (let i = 0; i < 500; i++) {
    const p = await s.query(before === undefined ? q : { ...q, before });
    out.push(p);
    if (p.next === undefined) return out;
    expect(Buffer.isBuffer(p.next)).toBe(true);
    before = p.next;
  }
  throw new Error(`paging did not end: ${JSON.stringify(q)}`);
}

/** The same pages, the same records, cursors at the same entry (they differ only in the random 8-byte sequence suffix). */
async function expectSameAnswers(threaded: AccessLogStore, level: AccessLogStore, all: readonly AccessRecord[]): Promise<void> {
  for (const q of queriesFor(all)) {
    const [a, b] = [await pages(threaded, q), await pages(level, q)];
    expect(a.map((p) => p.records), JSON.stringify(q)).toEqual(b.map((p) => p.records));
    const cursor = (p: Page) => p.next && [...p.next.subarray(0, p.next.length - 8)];
    expect(a.map(cursor), JSON.stringify(q)).toEqual(b.map(cursor));
    expect(a.flatMap((p) => p.records), JSON.stringify(q)).toEqual(model(all, q));
  }
  expect(await threaded.approximateBytes()).toBe(await level.approximateBytes());
}

const recordArb: fc.Arbitrary<AccessRecord> = fc.record({
  time: fc.integer({ min: T, max: T + 6 }),
  requestId: fc.constantFrom("", "req-1", "req-2", "req-1\0", "要求", 'q"\n'),
  unitId: fc.constantFrom("", "alice", "bob", "ユーザー"),
  key: fc.constantFrom("checkout", "static.key", "ключ", "a", "a\0", ""),
  version: fc.nat(50),
  revision: fc.maxSafeNat(),
  variant: fc.constantFrom("", "new", "stable", "blue"),
  reason: fc.constantFrom(...ALL_REASONS),
  source: fc.oneof(fc.constantFrom("grpc", "http"), fc.string({ maxLength: 6 })),
});

describe("ThreadedAccessLogStore loaded from its TypeScript source (as vitest loads it)", () => {
  // The module starts access-log-worker.ts with execArgv ["--import", "tsx"]. On Node < 22.22.3
  // (< 24.11.1 on 24) tsx's entry registers its loader only when isMainThread, so in the worker
  // nothing handles .ts and the worker dies with ERR_UNKNOWN_FILE_EXTENSION.
  it("starts its worker and answers", async () => {
    const s = new fromSource.ThreadedAccessLogStore(await tempDir());
    cleanups.push(() => s.close().catch(() => undefined));
    await s.open();
    await s.append(accessBatch([rec(T, "r", "u", "k")]));
    expect((await s.query({ limit: 10 })).records).toEqual([rec(T, "r", "u", "k")]);
    await s.close();
  });
});

describe("ThreadedAccessLogStore (compiled, worker under plain node) against LevelAccessLogStore", () => {
  let built: string;
  let mod: ThreadedModule;
  beforeAll(async () => {
    built = await buildJs(["src/storage/level/threaded-access-log-store.ts", "src/storage/level/access-log-worker.ts"]);
    mod = (await import(pathToFileURL(join(built, "out/storage/level/threaded-access-log-store.js")).href)) as ThreadedModule;
  });
  afterAll(() => rm(built, { recursive: true, force: true }));

  const pair = async () => ({
    threaded: await opened(new mod.ThreadedAccessLogStore(await tempDir())),
    level: await opened(new LevelAccessLogStore(await tempDir())),
  });

  it("answers every query, page by page, exactly as the in-thread store does", async () => {
    const { threaded, level } = await pair();
    expect(await threaded.approximateBytes()).toBe(0);
    const all: AccessRecord[] = [];
    for (const batch of SCENARIO) {
      await threaded.append(accessBatch(batch));
      await level.append(accessBatch(batch));
      all.push(...batch);
      await expectSameAnswers(threaded, level, all);
    }
    expect(await threaded.approximateBytes()).toBeGreaterThan(0);
  });

  it("prunes by age and by count exactly as the in-thread store does", async () => {
    const { threaded, level } = await pair();
    let all = SCENARIO.flat();
    for (const batch of SCENARIO) {
      await threaded.append(accessBatch(batch));
      await level.append(accessBatch(batch));
    }
    // Older than T+2, at most 3: the 3 oldest of the 5 such records.
    expect(await threaded.pruneOlderThan(T + 2, 3)).toBe(3);
    expect(await level.pruneOlderThan(T + 2, 3)).toBe(3);
    all = all.slice(3);
    await expectSameAnswers(threaded, level, all);
    // The rest of them (2), none at T+2.
    expect(await threaded.pruneOlderThan(T + 2, 100)).toBe(2);
    expect(await level.pruneOlderThan(T + 2, 100)).toBe(2);
    all = all.slice(2);
    await expectSameAnswers(threaded, level, all);
    expect(await threaded.pruneOlderThan(T + 2, 100)).toBe(0);
    expect(await level.pruneOlderThan(T + 2, 100)).toBe(0);

    const oldestFirst = [...all].map((r, i) => ({ r, i })).sort((a, b) => a.r.time - b.r.time || a.i - b.i);
    expect(await threaded.pruneOldest(6)).toBe(6);
    expect(await level.pruneOldest(6)).toBe(6);
    const gone = new Set(oldestFirst.slice(0, 6).map((x) => x.i));
    all = all.filter((_, i) => !gone.has(i));
    await expectSameAnswers(threaded, level, all);

    expect(await threaded.pruneOldest(1000)).toBe(all.length);
    expect(await level.pruneOldest(1000)).toBe(all.length);
    await expectSameAnswers(threaded, level, []);
    expect(await threaded.approximateBytes()).toBe(0);
  });

  it("agrees with the in-thread store on random logs, queries and prunes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(recordArb, { maxLength: 12 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: T, max: T + 7 }),
        fc.nat(6),
        fc.nat(6),
        async (batches, cutoff, max, oldest) => {
          const { threaded, level } = await pair();
          try {
            let all: AccessRecord[] = [];
            for (const b of batches) {
              await threaded.append(accessBatch(b));
              await level.append(accessBatch(b));
              all.push(...b);
            }
            await expectSameAnswers(threaded, level, all);

            const n = await threaded.pruneOlderThan(cutoff, max);
            expect(n).toBe(await level.pruneOlderThan(cutoff, max));
            const order = all.map((r, i) => ({ r, i })).sort((a, b) => a.r.time - b.r.time || a.i - b.i);
            const old = order.filter((x) => x.r.time < cutoff).slice(0, max);
            expect(n).toBe(old.length);
            const gone = new Set(old.map((x) => x.i));
            all = all.filter((_, i) => !gone.has(i));

            const m = await threaded.pruneOldest(oldest);
            expect(m).toBe(await level.pruneOldest(oldest));
            expect(m).toBe(Math.min(oldest, all.length));
            const rest = all.map((r, i) => ({ r, i })).sort((a, b) => a.r.time - b.r.time || a.i - b.i);
            const gone2 = new Set(rest.slice(0, m).map((x) => x.i));
            all = all.filter((_, i) => !gone2.has(i));
            await expectSameAnswers(threaded, level, all);
          } finally {
            await threaded.close();
            await level.close();
          }
        },
      ),
      { numRuns: 12 },
    );
  });

  it("rejects every call after close(), and a second close() resolves", async () => {
    const s = await opened(new mod.ThreadedAccessLogStore(await tempDir()));
    await s.append(accessBatch([rec(T, "r", "u", "k")]));
    await s.close();
    await expect(s.append(accessBatch([rec(T, "r", "u", "k")]))).rejects.toThrow();
    await expect(s.query({ limit: 1 })).rejects.toThrow();
    await expect(s.pruneOlderThan(T + 1, 10)).rejects.toThrow();
    await expect(s.pruneOldest(1)).rejects.toThrow();
    await expect(s.approximateBytes()).rejects.toThrow();
    await expect(s.open()).rejects.toThrow();
    await expect(s.close()).resolves.toBeUndefined();
  });

  it("a new store on the same directory, after close(), sees the records", async () => {
    const dir = await tempDir();
    const first = await opened(new mod.ThreadedAccessLogStore(dir));
    const level = await opened(new LevelAccessLogStore(await tempDir()));
    const all = SCENARIO.flat();
    for (const batch of SCENARIO) {
      await first.append(accessBatch(batch));
      await level.append(accessBatch(batch));
    }
    await first.close();

    const second = await opened(new mod.ThreadedAccessLogStore(dir));
    await expectSameAnswers(second, level, all);
    // It goes on appending after what was there (later times, so the order does not depend on the sequence's random start).
    const more = [rec(T + 100, "req-1", "alice", "checkout"), rec(T + 101, "late", "carol", "ключ")];
    await second.append(accessBatch(more));
    await level.append(accessBatch(more));
    await expectSameAnswers(second, level, [...all, ...more]);
    await second.close();
  });

  it("reports the worker's store errors with their code, as the in-thread store raises them", async () => {
    const dir = await tempDir();
    const holder = await opened(new LevelAccessLogStore(dir));
    expect(holder).toBeDefined();
    // LevelDB's lock: the directory is held by `holder`.
    const direct = await new LevelAccessLogStore(dir).open().then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(direct?.code).toBeTruthy();

    const s = new mod.ThreadedAccessLogStore(dir);
    cleanups.push(() => s.close().catch(() => undefined));
    const err = await s.open().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(mod.AccessLogStoreError);
    expect((err as InstanceType<ThreadedModule["AccessLogStoreError"]>).code).toBe(direct!.code);
    expect((err as Error).message).toBe(direct!.message);
  });
});
