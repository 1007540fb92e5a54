import { afterEach, describe, expect, it, vi } from "vitest";
import { timeSlices } from "./time-slices.js";

// The clock is driven by the test: each step of a loop moves it on by that step's cost.
let clock = 0;
const useTestClock = (): void => {
  clock = 1_000;
  vi.spyOn(performance, "now").mockImplementation(() => clock);
};

/** Runs `steps` steps costing `costMs` each, pausing as `timeSlices(ms)` says; returns the steps run between pauses. */
async function loop(steps: number, costMs: number, ms: number, log: string[], name: string): Promise<number[]> {
  const pause = timeSlices(ms);
  const runs: number[] = [];
  let run = 0;
  for (let i = 0; i < steps; i++) {
    clock += costMs;
    run++;
    const p = pause();
    if (p) {
      runs.push(run);
      log.push(`${name}${run}`);
      run = 0;
      await p;
    }
  }
  runs.push(run);
  log.push(`${name}${run} done`);
  return runs;
}

describe("timeSlices", () => {
  afterEach(() => void vi.restoreAllMocks());

  it("holds the event loop for its slice, looking at the clock every 16 steps", async () => {
    useTestClock();
    // 1 ms a step, 5 ms a slice: the clock is first looked at after 16 steps, which is past it.
    expect(await loop(40, 1, 5, [], "a")).toEqual([16, 16, 8]);
    // 0.1 ms a step: 16, 32 and 48 steps are under 5 ms; 64 steps (6.4 ms) are past it.
    expect(await loop(150, 0.1, 5, [], "b")).toEqual([64, 64, 22]);
  });

  it("lets the work that waited run at each pause", async () => {
    useTestClock();
    const pause = timeSlices(5);
    let waited = 0;
    let ran = 0;
    for (let i = 0; i < 64; i++) {
      clock += 1;
      // Work that came in meanwhile (a call's I/O, another loop's turn) is already queued.
      if (i % 16 === 0) setImmediate(() => ran++);
      const p = pause();
      if (p) {
        waited++;
        await p;
        expect(ran).toBe(waited);
      }
    }
    expect(waited).toBe(4);
  });

  it("shares one slice a turn among the loops resumed in it", async () => {
    useTestClock();
    const log: string[] = [];
    // A costs 1 ms a step and uses the whole slice each turn; B costs 0.1 ms a step.
    const [a, b] = await Promise.all([loop(48, 1, 5, log, "A"), loop(200, 0.1, 5, log, "B")]);
    expect(a).toEqual([16, 16, 16, 0]);
    // B's first slice is its own (it started after A's first); in the turns A has used up it
    // gets its 16 steps only; once A is done it has whole slices again.
    expect(b).toEqual([64, 16, 16, 64, 40]);
    // In each turn, A runs first (it paused first), then B.
    expect(log.slice(0, 7)).toEqual(["A16", "B64", "A16", "B16", "A16", "B16", "A0 done"]);
  });
});
