import type { Logger } from "pino";
import { leaderOnly } from "../storage/leader-only.js";
import type { Metrics } from "../service/metrics.js";
import type { RetentionService } from "../service/retention-service.js";

/**
 * Applies the retention policies every `intervalMs`, in the background: a run reads the log in
 * bounded steps and yields between them, so calls are served meanwhile. Runs never overlap;
 * with no policy a run reads nothing.
 */
export class CompactionLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly retention: RetentionService,
    private readonly log: Logger,
    private readonly intervalMs: number,
    private readonly metrics?: Metrics,
  ) {}

  start(): void {
    this.closed = false;
    this.schedule();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One run. A failure is logged and counted, then thrown; the next run tries again. */
  async tick(): Promise<void> {
    const t0 = performance.now();
    try {
      const o = await this.retention.compact({ author: "ctm-retention", message: "", cause: "retention", principal: "ctm-retention" });
      if (o.horizon !== o.previousHorizon || o.removed + o.stripped > 0) {
        this.log.info({ horizon: o.horizon, previousHorizon: o.previousHorizon, removed: o.removed, stripped: o.stripped, archive: o.archive?.file, durationMs: Math.round(performance.now() - t0) }, "compacted");
      }
    } catch (e) {
      this.metrics?.backgroundFailures.inc({ loop: "retention" });
      this.log.error({ err: e }, "compaction failed; it is retried at the next run (one cut short finishes at the next start)");
      throw e;
    }
  }

  private schedule(): void {
    if (this.closed || this.intervalMs <= 0) return;
    this.timer = setTimeout(() => {
      // Its writes are the leader's alone: on a store shared by replicas, fenced by the leadership.
      this.running = leaderOnly(() => this.tick())
        .catch(() => {}) // logged and counted by tick()
        .finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }
}
