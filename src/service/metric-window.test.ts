import { describe, expect, it } from "vitest";
import { ManualClock } from "../domain/clock.js";
import { CtmError } from "../domain/errors.js";
import { METRIC_WINDOW_LIMITS, MetricWindow, type MetricWindowLimits } from "./metric-window.js";

const T0 = Date.UTC(2024, 0, 1);
const MIN = 60_000;

const fails = (f: () => unknown): CtmError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CtmError);
    return e as CtmError;
  }
  throw new Error("expected an error");
};

describe("MetricWindow ages samples by the server's clock", () => {
  it("a sample counts when it arrives, whatever time the client claims within the skew bound", () => {
    const clock = new ManualClock(T0);
    const w = new MetricWindow(clock);
    // A client 50 s ahead: with its own time the sample would stay in a 60 s window 50 s too long.
    w.addAll([{ key: "k", variant: "new", requests: 10, errors: 5, time: T0 + 50_000 }]);
    clock.advance(61_000);
    expect(w.counts("k", clock.now() - 60_000).canary).toEqual({ requests: 0, errors: 0 });
  });

  it("refuses a batch with a sample skewed beyond the bound, and takes none of it", () => {
    const clock = new ManualClock(T0);
    const w = new MetricWindow(clock);
    const old = fails(() =>
      w.addAll([
        { key: "k", variant: "new", requests: 10, errors: 0 },
        { key: "k", variant: "new", requests: 100, errors: 100, time: T0 - 10 * MIN },
      ]),
    );
    expect(old.code).toBe("invalid_argument");
    expect(old.field).toBe("samples[1].time");
    expect(fails(() => w.addAll([{ key: "k", variant: "stable", requests: 1, errors: 1, time: T0 + 2 * MIN }])).field).toBe("samples[0].time");
    expect(w.counts("k", T0 - MIN)).toEqual({ canary: { requests: 0, errors: 0 }, stable: { requests: 0, errors: 0 } });
    expect(w.size).toBe(0);
  });

  it("sums stable and every other variant as canary over the asked window, and forgets what is older than an hour", () => {
    const clock = new ManualClock(T0);
    const w = new MetricWindow(clock);
    w.addAll([
      { key: "k", variant: "stable", requests: 100, errors: 1 },
      { key: "k", variant: "new", requests: 10, errors: 2 },
      { key: "k", variant: "red", requests: 10, errors: 3 },
    ]);
    clock.advance(30_000);
    w.addAll([{ key: "k", variant: "new", requests: 1, errors: 1 }]);
    expect(w.counts("k", clock.now() - 60_000)).toEqual({ canary: { requests: 21, errors: 6 }, stable: { requests: 100, errors: 1 } });
    expect(w.counts("k", clock.now() - 10_000).canary).toEqual({ requests: 1, errors: 1 });
    clock.advance(METRIC_WINDOW_LIMITS.maxAgeMs);
    w.addAll([{ key: "k", variant: "new", requests: 0, errors: 0 }]);
    expect(w.counts("k", 0).canary).toEqual({ requests: 0, errors: 0 });
  });
});

describe("MetricWindow is bounded", () => {
  it("a key reported every second for hours holds at most fine + coarse buckets per population", () => {
    const clock = new ManualClock(T0);
    const w = new MetricWindow(clock);
    for (let s = 0; s < 3 * 3600; s++) {
      w.addAll([
        { key: "k", variant: "stable", requests: 1, errors: 0 },
        { key: "k", variant: "new", requests: 1, errors: 0 },
      ]);
      clock.advance(1000);
    }
    const L = METRIC_WINDOW_LIMITS;
    const perPopulation = L.fineSpanMs / L.fineMs + L.maxAgeMs / L.coarseMs + 1;
    expect(w.buckets).toBeLessThanOrEqual(2 * perPopulation);
    // Still right: the last 10 minutes hold 600 requests per population, exact to the minute at the old edge.
    const { canary } = w.counts("k", clock.now() - 10 * MIN);
    expect(canary.requests).toBeGreaterThanOrEqual(540);
    expect(canary.requests).toBeLessThanOrEqual(600);
    // A window inside the fine span is exact to the second.
    expect(w.counts("k", clock.now() - 60_000).stable.requests).toBe(60);
  });

  const small: MetricWindowLimits = { ...METRIC_WINDOW_LIMITS, maxKeys: 3 };

  it("new keys past the maximum evict keys quiet for evictIdleMs, least recently reported first", () => {
    const clock = new ManualClock(T0);
    const w = new MetricWindow(clock, small);
    for (const k of ["a", "b", "c"]) {
      w.addAll([{ key: k, variant: "new", requests: 1, errors: 0 }]);
      clock.advance(1000);
    }
    clock.advance(small.evictIdleMs);
    w.addAll([{ key: "b", variant: "new", requests: 1, errors: 0 }]);
    w.addAll([{ key: "d", variant: "new", requests: 1, errors: 0 }]);
    expect(w.size).toBe(3);
    expect(w.counts("a", 0).canary.requests).toBe(0);
    expect(w.counts("b", 0).canary.requests).toBe(2);
    expect(w.counts("c", 0).canary.requests).toBe(1);
    expect(w.counts("d", 0).canary.requests).toBe(1);
  });

  it("a flood of new keys never evicts a key that is being reported: it is refused instead", () => {
    const clock = new ManualClock(T0);
    const w = new MetricWindow(clock, small);
    w.addAll([{ key: "checkout", variant: "new", requests: 100, errors: 50 }]);
    w.addAll([{ key: "x1", variant: "new", requests: 1, errors: 0 }]);
    const err = fails(() =>
      w.addAll([
        { key: "x2", variant: "new", requests: 1, errors: 0 },
        { key: "x3", variant: "new", requests: 1, errors: 0 },
      ]),
    );
    expect(err.code).toBe("unavailable");
    expect(w.size).toBe(2);
    for (let i = 0; i < 100; i++) {
      try {
        w.addAll([{ key: `flood-${i}`, variant: "new", requests: 1, errors: 0 }]);
      } catch (e) {
        expect((e as CtmError).code).toBe("unavailable");
      }
    }
    expect(w.size).toBe(small.maxKeys);
    expect(w.counts("checkout", 0).canary).toEqual({ requests: 100, errors: 50 });
  });
});
