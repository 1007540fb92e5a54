import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import type { Metrics } from "./metrics.js";

/**
 * The longest time the event loop was held, read and reset at once: each scrape of
 * `ctm_event_loop_delay_max_seconds` covers what happened since the previous one, so a test
 * (or an alert) can tie a stall to the requests that ran in between. No request may hold the
 * loop for more than ~50 ms (DESIGN.md); a larger value names a bug, not a slow machine.
 */
export class EventLoopMonitor {
  private readonly histogram: IntervalHistogram;

  /** `resolutionMs`: how often the loop is sampled; a stall shorter than it may go unseen. */
  constructor(resolutionMs = 10) {
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs });
    this.histogram.enable();
  }

  /** The longest delay since the previous call, in seconds; starts a new window. */
  takeMaxSeconds(): number {
    const max = this.histogram.count > 0 ? this.histogram.max / 1e9 : 0;
    this.histogram.reset();
    return max;
  }

  close(): void {
    this.histogram.disable();
  }
}

/** Starts a monitor and exports it as ctm_event_loop_delay_max_seconds (one line in main.ts). */
export function exportEventLoopDelay(metrics: Metrics): EventLoopMonitor {
  const monitor = new EventLoopMonitor();
  metrics.observe("ctm_event_loop_delay_max_seconds", "Longest event-loop delay since the previous scrape, in seconds (read resets it)", () =>
    monitor.takeMaxSeconds(),
  );
  return monitor;
}
