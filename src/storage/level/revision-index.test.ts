import { describe, expect, it } from "vitest";
import { compareKeys } from "../../domain/key-order.js";
import { RevisionIndex } from "./revision-index.js";

/** Every page of `prefix` at `revision`, `limit` keys looked at a page: the keys found with their revisions. */
function all(index: RevisionIndex, prefix: string, revision: number, limit: number): { found: string[]; pages: number } {
  const found: string[] = [];
  let after: string | undefined;
  let pages = 0;
  for (;;) {
    pages++;
    let last: string | undefined;
    for (const step of index.pageAt(prefix, revision, limit, after)) {
      if ("last" in step) last = step.last;
      else for (const [k, r] of step.items) found.push(`${k}@${r}`);
    }
    if (last === undefined) return { found, pages };
    after = last;
  }
}

describe("RevisionIndex", () => {
  // 3,000 keys (past several chunks of 1,024), keys in UTF-8 order with astral and accented ones,
  // each written at 1 to 3 revisions.
  const names = Array.from({ length: 3000 }, (_, i) => `${i % 3 === 0 ? "a/" : "b/"}${["k", "é", "😀", "\uffff"][i % 4]}${String(i).padStart(4, "0")}`).sort(compareKeys);
  const history = new Map<string, number[]>();
  let rev = 0;
  for (const [i, name] of names.entries()) history.set(name, Array.from({ length: 1 + (i % 3) }, () => ++rev));

  const built = (): RevisionIndex => {
    const index = RevisionIndex.fromSorted(
      names,
      names.map((n) => {
        const revs = history.get(n)!;
        return revs.length === 1 ? revs[0]! : [...revs];
      }),
    );
    return index;
  };

  /** A key index entry: `<key> 0x00 <revision, 8 bytes>`. */
  const entry = (key: string, r: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(Math.floor(r / 2 ** 32), 0);
    b.writeUInt32BE(r >>> 0, 4);
    return Buffer.concat([Buffer.from(key, "utf8"), Buffer.from([0]), b]);
  };

  /** What a page walk must find: each key's newest revision at or below `at`, in key order. */
  const expected = (prefix: string, at: number): string[] =>
    names.filter((n) => n.startsWith(prefix)).flatMap((n) => {
      const below = history.get(n)!.filter((r) => r <= at);
      return below.length === 0 ? [] : [`${n}@${below[below.length - 1]}`];
    });

  it("lists the keys under a prefix, in order, and only those", () => {
    const index = built();
    for (const prefix of ["", "a/", "b/", "b/é", "b/😀", "a/\uffff", "c/", "b/k0"]) {
      expect([...index.keysUnder(prefix)]).toEqual(names.filter((n) => n.startsWith(prefix)));
    }
    index.add("b/new", rev + 1);
    expect([...index.keysUnder("b/n")]).toEqual(["b/new"]);
  });

  it("pages every key under a prefix at any revision, whatever the page size, across its chunks", () => {
    const index = built();
    for (const at of [1, 2, 1500, rev - 1, rev]) {
      for (const prefix of ["", "a/", "b/", "c/"]) {
        for (const limit of [1, 999, 1024, 1025, 5000]) {
          if (limit === 1 && prefix === "") continue;
          const { found, pages } = all(index, prefix, at, limit);
          expect(found).toEqual(expected(prefix, at));
          const keys = names.filter((n) => n.startsWith(prefix)).length;
          // Keys are looked at whether or not they have a revision yet: pages follow the keys.
          expect(pages).toBe(Math.max(1, Math.ceil(keys / limit)));
        }
      }
    }
  });

  it("names a key's revision at any point, and its revisions newest first up to any point", () => {
    const index = RevisionIndex.fromSorted(["k/a", "k/b"], [[1, 5, 9], 2]);
    expect([0, 1, 4, 5, 8, 9, 100].map((r) => index.revisionAt("k/a", r))).toEqual([undefined, 1, 1, 5, 5, 9, 9]);
    expect([1, 2, 3].map((r) => index.revisionAt("k/b", r))).toEqual([undefined, 2, 2]);
    expect(index.revisionAt("k/c", 100)).toBeUndefined();
    expect(index.newestFirst("k/a", 100, 10)).toEqual([9, 5, 1]);
    expect(index.newestFirst("k/a", 8, 10)).toEqual([5, 1]);
    expect(index.newestFirst("k/a", 9, 2)).toEqual([9, 5]);
    expect(index.newestFirst("k/a", 0, 10)).toEqual([]);
    expect(index.newestFirst("k/a", 9, 0)).toEqual([]);
    expect(index.newestFirst("k/b", 2, 10)).toEqual([2]);
    expect(index.newestFirst("k/b", 1, 10)).toEqual([]);
    expect(index.newestFirst("k/c", 100, 10)).toEqual([]);
  });

  it("takes new revisions and new keys, and ignores a revision it already has", () => {
    const index = built();
    const old = names[10]!;
    index.add(old, rev + 1);
    index.add(old, rev + 1);
    index.add("a/new", rev + 2);
    expect(index.size).toBe(3001);
    const at = (r: number) => all(index, "a/", r, 5000).found;
    expect(at(rev)).toEqual(expected("a/", rev));
    expect(at(rev + 2)).toContain(`${old}@${rev + 1}`);
    expect(at(rev + 2)).toContain(`a/new@${rev + 2}`);
    expect(at(rev + 1)).not.toContain(`a/new@${rev + 2}`);
  });

  it("builds from the key index's entries as they are stored, leaving out revisions above the limit", async () => {
    const entries = names.flatMap((n) => history.get(n)!.map((r) => entry(n, r)));
    let at = 0;
    const index = await RevisionIndex.fromKeyIndex(async (n) => entries.slice(at, (at += n)), { upTo: 1500, batch: 700, canonical: (k) => k, stopped: () => false });
    expect(all(index!, "", 1500, 5000).found).toEqual(expected("", 1500));
    expect(all(index!, "", rev, 5000).found).toEqual(expected("", 1500));
  });

  it("builds the same index a part at a time, whatever the parts and batches, and keeps taking revisions after", async () => {
    const entries = names.flatMap((n) => history.get(n)!.map((r) => entry(n, r)));
    // Batches of 1 cut every key of several revisions across batches; parts of 1 and 7 join
    // thousands of trees, and a key's revisions may reach past the part they started in.
    for (const [batch, part] of [
      [1, 1],
      [13, 7],
      [700, 100],
      [5000, 100_000],
    ] as const) {
      let at = 0;
      const index = (await RevisionIndex.fromKeyIndex(async (n) => entries.slice(at, (at += n)), { upTo: rev, batch, part, canonical: (k) => k, stopped: () => false }))!;
      expect(index.size).toBe(names.length);
      for (const r of [1, 1500, rev]) expect(all(index, "", r, 5000).found).toEqual(expected("", r));
      for (const n of names) expect(index.newestFirst(n, rev, 10)).toEqual([...history.get(n)!].reverse());
      // Subtrees shared between the joined parts are copied on write, not changed under another.
      const [first, middle] = [names[0]!, names[1500]!];
      index.add(first, rev + 1);
      index.add(middle, rev + 2);
      index.add("a/zz-new", rev + 3);
      expect(index.newestFirst(first, rev + 3, 10)).toEqual([rev + 1, ...[...history.get(first)!].reverse()]);
      expect(index.newestFirst(middle, rev + 3, 10)[0]).toBe(rev + 2);
      expect(index.revisionAt("a/zz-new", rev + 3)).toBe(rev + 3);
      expect(all(index, "", rev, 5000).found).toEqual(expected("", rev));
    }
  });

  it("says which revision found is the key's newest, the only one that can be its head", () => {
    const index = RevisionIndex.fromSorted(["k/a", "k/b"], [[1, 5, 9], 2]);
    const items = (revision: number) => [...index.pageAt("k/", revision, 10)].flatMap((step) => ("items" in step ? step.items : []));
    expect(items(5)).toEqual([
      ["k/a", 5, false],
      ["k/b", 2, true],
    ]);
    expect(items(9)).toEqual([
      ["k/a", 9, true],
      ["k/b", 2, true],
    ]);
  });

  it("forgets revisions compaction removed, and keeps answering for the revisions after them", () => {
    const index = RevisionIndex.fromSorted(["k/a", "k/b"], [[1, 5, 9], 2]);
    index.remove("k/a", 5);
    expect(all(index, "k/", 9, 10).found).toEqual(["k/a@9", "k/b@2"]);
    expect(all(index, "k/", 6, 10).found).toEqual(["k/a@1", "k/b@2"]);
    index.remove("k/a", 1);
    // Only its last revision is left: at 3 the key is as if born at 9.
    expect(all(index, "k/", 3, 10).found).toEqual(["k/b@2"]);
    expect(all(index, "k/", 9, 10).found).toEqual(["k/a@9", "k/b@2"]);
    // A key's last revision, and one it does not hold, are left alone.
    index.remove("k/a", 9);
    index.remove("k/b", 7);
    expect(all(index, "k/", 9, 10).found).toEqual(["k/a@9", "k/b@2"]);
    index.add("k/a", 12);
    expect(all(index, "k/", 12, 10).found).toEqual(["k/a@12", "k/b@2"]);
  });
});
