import { describe, expect, it } from "vitest";
import type { LogRecord } from "@ctm/core/record";
import type { CommitListener } from "./log-store.js";
import { notifyListeners, wholeBatches } from "./notify-listeners.js";

const records = (n: number): LogRecord[] =>
  Array.from({ length: n }, (_, i) => ({ revision: i + 1, key: `k${i}`, version: 1, value: i, deleted: false, time: 0, author: "a", message: "", kind: "set", cause: "api" }));
const span = (rs: readonly LogRecord[]): string => `${rs[0]!.revision}-${rs[rs.length - 1]!.revision}`;

describe("notifyListeners", () => {
  it("hands a large batch to every listener a chunk at a time, in order, before the next chunk", () => {
    const calls: string[] = [];
    const a: CommitListener = (rs) => calls.push(`a ${span(rs)}`);
    const b: CommitListener = (rs) => calls.push(`b ${span(rs)}`);
    notifyListeners([a, b], records(2500), undefined);
    expect(calls).toEqual(["a 1-1024", "b 1-1024", "a 1025-2048", "b 1025-2048", "a 2049-2500", "b 2049-2500"]);
    // A small batch is handed on as it is.
    const small = records(3);
    let got: readonly LogRecord[] | undefined;
    notifyListeners([(rs) => (got = rs)], small, undefined);
    expect(got).toBe(small);
  });

  it("keeps calling the others when one throws, and reports each error", () => {
    const errors: string[] = [];
    const heard: string[] = [];
    const faulty: CommitListener = (rs) => {
      throw new Error(`bad ${span(rs)}`);
    };
    notifyListeners([faulty, (rs) => heard.push(span(rs))], records(1500), (e) => errors.push(e.message));
    expect(errors).toEqual(["bad 1-1024", "bad 1025-1500"]);
    expect(heard).toEqual(["1-1024", "1025-1500"]);
  });
});

describe("wholeBatches", () => {
  it("gathers the chunks of one turn into one batch, handed on once the turn is over", async () => {
    const batches: string[] = [];
    const listener = wholeBatches((rs) => batches.push(`${span(rs)} (${rs.length})`));
    notifyListeners([listener], records(2500), undefined);
    expect(batches).toEqual([]);
    await Promise.resolve();
    expect(batches).toEqual(["1-2500 (2500)"]);
    notifyListeners([listener], records(2), undefined);
    await Promise.resolve();
    expect(batches).toEqual(["1-2500 (2500)", "1-2 (2)"]);
  });
});
