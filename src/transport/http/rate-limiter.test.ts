import { describe, expect, it } from "vitest";
import { RateLimiter } from "./rate-limiter.js";

describe("RateLimiter", () => {
  it("lets a client spend a second's worth at once, then refills at the rate, each client apart", () => {
    let t = 0;
    const r = new RateLimiter(4, () => t);
    expect([1, 2, 3, 4].map(() => r.take("a"))).toEqual([0, 0, 0, 0]);
    expect(r.take("a")).toBe(1);
    expect(r.take("b")).toBe(0);
    t += 250;
    expect(r.take("a")).toBe(0);
    expect(r.take("a")).toBe(1);
    // Idle for long: full again, never more than the burst.
    t += 60_000;
    expect([1, 2, 3, 4, 5].map(() => r.take("a"))).toEqual([0, 0, 0, 0, 1]);
  });

  it("holds at most maxClients buckets, dropping the least recently used", () => {
    let t = 0;
    const r = new RateLimiter(1, () => t, 3);
    for (const c of ["a", "b", "c"]) expect(r.take(c)).toBe(0);
    expect(r.take("a")).toBe(1);
    // "b" is the least recently used: a fourth client evicts it, and it starts over full.
    expect(r.take("d")).toBe(0);
    expect(r.take("b")).toBe(0);
    expect(r.take("a")).toBe(1);
  });
});
