import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CommitGather } from "./commit-gather.js";

/** Whether `p` has settled once the microtasks queued so far have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await Promise.resolve();
  await Promise.resolve();
  return done;
}

describe("CommitGather", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("waits for nothing after a batch that answered one writer", async () => {
    const g = new CommitGather();
    g.wrote(40);
    expect(await settled(g.after(1, 0, 63))).toBe(true);
  });

  it("goes on as soon as the answered writers and those already waiting are all queued again", async () => {
    const g = new CommitGather();
    g.wrote(8);
    const wait = g.after(3, 2, 63);
    g.queued(3);
    g.queued(4);
    expect(await settled(wait)).toBe(false);
    g.queued(5);
    expect(await settled(wait)).toBe(true);
  });

  it("waits for nothing when the queue already holds what one transaction can carry", async () => {
    const g = new CommitGather();
    g.wrote(8);
    expect(await settled(g.after(50, 63, 63))).toBe(true);
    expect(await settled(g.after(50, 900, 63))).toBe(true);
  });

  it("goes on once one transaction's worth is queued, without waiting for every answered writer", async () => {
    const g = new CommitGather();
    g.wrote(8);
    const wait = g.after(50, 14, 63);
    g.queued(62);
    expect(await settled(wait)).toBe(false);
    g.queued(63);
    expect(await settled(wait)).toBe(true);
  });

  it("waits a quarter of the last round trip when they do not come", async () => {
    const g = new CommitGather();
    g.wrote(8);
    const wait = g.after(4, 0, 63);
    g.queued(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(wait)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(wait)).toBe(true);
  });

  it("waits 5 ms at most, however slow the last round trip", async () => {
    const g = new CommitGather();
    g.wrote(1000);
    const wait = g.after(4, 0, 63);
    await vi.advanceTimersByTimeAsync(4);
    expect(await settled(wait)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(wait)).toBe(true);
  });

  it("waits one turn of the event loop when a quarter of the round trip is under a millisecond", async () => {
    const g = new CommitGather();
    g.wrote(2);
    const wait = g.after(4, 0, 63);
    expect(await settled(wait)).toBe(false);
    await vi.advanceTimersToNextTimerAsync();
    expect(await settled(wait)).toBe(true);
  });

  it("forgets a wait once it is over: a later commit wakes nothing", async () => {
    const g = new CommitGather();
    g.wrote(8);
    const wait = g.after(2, 0, 63);
    g.queued(2);
    await wait;
    g.queued(3);
    const next = g.after(2, 3, 63);
    g.queued(4);
    expect(await settled(next)).toBe(false);
    g.queued(5);
    expect(await settled(next)).toBe(true);
  });
});
