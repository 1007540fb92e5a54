import { describe, expect, it } from "vitest";
import { FailurePenalty, PENALTY_DEFAULTS } from "./failure-penalty.js";

describe("FailurePenalty", () => {
  it("lets a few failures pass, then doubles each refusal's wait up to the cap, per host and not per port", () => {
    let now = 0;
    const p = new FailurePenalty(PENALTY_DEFAULTS, () => now);
    const waits = Array.from({ length: 12 }, (_, i) => p.failed(`ipv4:10.0.0.1:${5000 + i}`));
    expect(waits).toEqual([0, 0, 0, 0, 0, 50, 100, 200, 400, 800, 1600, 2000]);
    expect(p.failed("ipv4:10.0.0.2:1")).toBe(0);
    now += PENALTY_DEFAULTS.windowMs + 1;
    expect(p.failed("ipv4:10.0.0.1:9")).toBe(0);
  });

  it("remembers a bounded number of hosts, forgetting the oldest", () => {
    let now = 0;
    const p = new FailurePenalty({ ...PENALTY_DEFAULTS, free: 1, maxPeers: 2 }, () => now);
    p.failed("a:1");
    p.failed("b:1");
    p.failed("c:1");
    expect(p.failed("a:1")).toBe(0);
    now += 1;
    expect(p.failed("c:1")).toBe(50);
  });

  it("a cap of 0 never slows anyone", () => {
    const p = new FailurePenalty({ ...PENALTY_DEFAULTS, maxDelayMs: 0 });
    expect(Array.from({ length: 20 }, () => p.failed("x:1")).every((w) => w === 0)).toBe(true);
  });
});
