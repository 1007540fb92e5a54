import type { Logger } from "pino";
import { leaderOnly } from "../storage/leader-only.js";
import type { LogRecord } from "../domain/record.js";
import type { Metrics } from "../service/metrics.js";
import type { RolloutService } from "../service/rollout-service.js";


/**
 * Drives rollouts forward: every tick appends the milestones that fell due.
 * The first tick runs at start, so milestones missed while the daemon was
 * down are written then, once. Ticks never overlap.
 */
export class RolloutScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly rollouts: RolloutService,
    private readonly log: Logger,
    private readonly intervalMs = 1000,
    private readonly metrics?: Metrics,
  ) {}

  start(): void {
    this.closed = false;
    this.schedule(0);
  }

  /** One pass; tests call this directly with a manual clock. A failure is logged and counted here, then thrown. */
  async tick(): Promise<LogRecord[]> {
    let written: LogRecord[];
    try {
      written = await this.rollouts.advance();
    } catch (e) {
      this.metrics?.backgroundFailures.inc({ loop: "scheduler" });
      this.log.error({ err: e }, "rollout scheduler tick failed; milestones that fell due were not written (retried next tick)");
      throw e;
    }
    for (const r of written) {
      this.log.info({ key: r.key, version: r.version, revision: r.revision, kind: r.kind, milestone: r.message }, "rollout milestone");
    }
    return written;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delay: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      // Its writes are the leader's alone: on a store shared by replicas, fenced by the leadership.
      this.running = leaderOnly(() => this.tick())
        .catch(() => {}) // logged and counted by tick()
        .finally(() => this.schedule(this.intervalMs));
    }, delay);
    this.timer.unref();
  }
}
