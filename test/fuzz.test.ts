import { describe, expect, it } from "vitest";
import { fuzzedMethods, runFuzz } from "./fuzz/fuzz-run.js";

// A few thousand requests here; `npm run fuzz -- <count> [seed]` sends as many as you like.
const COUNT = Number(process.env.FUZZ_COUNT ?? 3000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);

describe("structure-aware fuzzing of every method of every service", () => {
  it(`${COUNT} seeded requests: no INTERNAL or UNKNOWN, no crash or hang, no refusal moving the head, no event-loop stall over 100 ms`, async () => {
    const report = await runFuzz({ count: COUNT, seed: SEED });
    // The first violation says what to replay (method and base64 request bytes).
    expect(report.violations).toEqual([]);
    expect(report.requests).toBe(COUNT);
    // Every method was reached, and the corpus both passes and fails the checks.
    for (const m of fuzzedMethods()) expect(Object.keys(report.byMethod)).toContain(`${m.parent.name}/${m.name}`);
    expect(report.statuses.OK).toBeGreaterThan(COUNT / 20);
    expect(report.statuses.INVALID_ARGUMENT).toBeGreaterThan(COUNT / 5);
  }, 180_000);
});
