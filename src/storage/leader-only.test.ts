import { describe, expect, it } from "vitest";
import { isLeaderOnly, leaderOnly } from "./leader-only.js";

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("leaderOnly", () => {
  it("marks every step of a tick, across awaits and timers, and nothing outside it", async () => {
    const seen: boolean[] = [];
    const outside: boolean[] = [];
    const run = leaderOnly(async () => {
      seen.push(isLeaderOnly());
      await tick();
      seen.push(isLeaderOnly());
      await Promise.all([tick().then(() => seen.push(isLeaderOnly())), tick()]);
      return 7;
    });
    // A client's call made while the tick waits is not the leader's.
    outside.push(isLeaderOnly());
    await tick();
    outside.push(isLeaderOnly());
    await expect(run).resolves.toBe(7);
    outside.push(isLeaderOnly());
    expect(seen).toEqual([true, true, true]);
    expect(outside).toEqual([false, false, false]);
  });

  it("keeps overlapping ticks marked until the last one ends, and ends a failed tick too", async () => {
    let release!: () => void;
    const slow = leaderOnly(async () => {
      await new Promise<void>((r) => (release = r));
      return isLeaderOnly();
    });
    await expect(leaderOnly(async () => Promise.reject(new Error("tick failed")))).rejects.toThrow("tick failed");
    const quick = await leaderOnly(async () => {
      await tick();
      return isLeaderOnly();
    });
    expect(quick).toBe(true);
    release();
    await expect(slow).resolves.toBe(true);
    expect(isLeaderOnly()).toBe(false);
  });

  it("leaves no hook on a promise made after the ticks end", async () => {
    await leaderOnly(async () => {
      await tick();
    });
    // While an AsyncLocalStorage is enabled on Node 20, every new promise carries its store
    // under a symbol; off, a promise is a plain one again.
    expect(Object.getOwnPropertySymbols(Promise.resolve(1))).toEqual([]);
  });
});
