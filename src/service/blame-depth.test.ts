import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { blameHistory } from "../domain/blame-history.js";
import { CtmError } from "../domain/errors.js";
import type { JsonValue } from "@ctm/core/json";
import type { Draft } from "@ctm/core/record";
import type { LevelLogStore } from "../storage/level/level-log-store.js";
import type { ConfigService } from "./config-service.js";
import { tempStore, type TempStore } from "../../test/helpers/temp-store.js";

let t: TempStore;
let store: LevelLogStore;
let svc: ConfigService;

beforeEach(async () => {
  t = await tempStore("blame");
  ({ store, config: svc } = t);
});
afterEach(() => t.dispose());

const draft = (value: JsonValue, author: string): Draft => ({ key: "deep", value, deleted: false, author, message: "", kind: "set", cause: "api" });

/** `n` versions of "deep", written straight to the store in batches of 500 (versions 1..n). */
async function writeVersions(n: number, valueOf: (v: number) => JsonValue): Promise<void> {
  for (let from = 1; from <= n; from += 500) {
    const drafts = Array.from({ length: Math.min(500, n - from + 1) }, (_, i) => draft(valueOf(from + i), `w${from + i}`));
    await store.commit(() => drafts);
  }
}

// /since1 never changes; /since1200 changes for the last time at version 1200; /counter every time.
const valueOf = (v: number): JsonValue => ({ since1: "kept", since1200: Math.min(v, 1200), counter: v, list: [1, 2] });

describe("blame on a key with a long history", () => {
  it("blames a leaf unchanged since version 1 on version 1, 2,500 versions back", async () => {
    await writeVersions(2500, valueOf);
    expect(svc.get("deep").version).toBe(2500);
    // A timer that runs while blame walks: the walk yields between its pages.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const { record, lines } = await svc.blame("deep");
    clearInterval(timer);
    expect(record.version).toBe(2500);
    const owners = Object.fromEntries(lines.map((l) => [l.path, [l.record.version, l.record.author]]));
    expect(owners).toEqual({
      "/since1": [1, "w1"],
      "/since1200": [1200, "w1200"],
      "/counter": [2500, "w2500"],
      "/list/0": [1, "w1"],
      "/list/1": [1, "w1"],
    });
    expect(ticks).toBeGreaterThan(0);
  });

  it("stops reading as soon as every leaf is attributed", async () => {
    await writeVersions(2500, (v) => ({ counter: v, recent: Math.min(v, 2400) }));
    const reads: number[] = [];
    const r = await blameHistory(svc.get("deep"), async (before, limit) => {
      const page = await store.history("deep", limit, before);
      reads.push(page.length);
      return page;
    });
    expect(r.complete).toBe(true);
    expect(Object.fromEntries(r.lines.map((l) => [l.path, l.record.version]))).toEqual({ "/counter": 2500, "/recent": 2400 });
    // /recent changed at 2400: the walk ends there, 101 versions back, not at version 1.
    expect(r.examined).toBe(101);
    expect(reads.reduce((a, b) => a + b, 0)).toBeLessThan(400);
  });

  it("past its bound it says so, rather than blame a version that did not write the leaf", async () => {
    await writeVersions(2500, valueOf);
    const r = await blameHistory(svc.get("deep"), (before, limit) => store.history("deep", limit, before), { maxVersions: 1000, pageMs: 10, firstPage: 64, maxPage: 4096 });
    expect(r).toMatchObject({ complete: false, examined: 1000, oldestExamined: 1500, unresolved: ["/since1", "/since1200", "/list/0", "/list/1"] });
  });

  it("the service refuses with FAILED_PRECONDITION naming the leaves and the depth when the bound is hit", async () => {
    await writeVersions(2500, valueOf);
    let caught: unknown;
    try {
      await svc.blame("deep", "", { maxVersions: 1000, pageMs: 10, firstPage: 64, maxPage: 4096 });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(CtmError);
    expect((caught as CtmError).code).toBe("failed_precondition");
    expect((caught as CtmError).message).toBe(
      'blame of "deep" stopped after 1000 versions: 4 leaves (/since1, /since1200, /list/0, /list/1) are unchanged since version 1500 or earlier',
    );
    expect((caught as CtmError).details).toEqual({ examined: 1000, oldestExamined: 1500 });
  });
});
