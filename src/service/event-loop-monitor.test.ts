import { describe, expect, it } from "vitest";
import { EventLoopMonitor } from "./event-loop-monitor.js";

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("EventLoopMonitor", () => {
  it("sees a stall of the loop, and each read starts a new window", async () => {
    const monitor = new EventLoopMonitor(5);
    try {
      await tick(20);
      const until = performance.now() + 150;
      while (performance.now() < until) {
        // Hold the loop, as a runaway request would.
      }
      await tick(20);
      expect(monitor.takeMaxSeconds()).toBeGreaterThanOrEqual(0.1);
      // Nothing was sampled since the read: the window is empty.
      expect(monitor.takeMaxSeconds()).toBe(0);
    } finally {
      monitor.close();
    }
  });
});
