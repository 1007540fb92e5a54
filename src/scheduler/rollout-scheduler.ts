import type { Logger } from "pino";
import { leaderOnly } from "../storage/leader-only.js";
import type { LogRecord } from "@ctm/core/record";
import type { Metrics } from "../service/metrics.js";
import type { RolloutService } from "../service/rollout-service.js";

/** The change requests whose scheduled time came (ChangeRequestService.applyDue). */
export interface DueChanges {
  applyDue(): Promise<{ id: string; records?: LogRecord[]; error?: unknown }[]>;
}

/**
 * Drives rollouts forward: every tick appends the milestones that fell due,
 * and applies the change requests scheduled for now or earlier. The first
 * tick runs at start, so what fell due while the daemon was down is written
 * then, once. Ticks never overlap.
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
    private readonly changes?: DueChanges,
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
    for (const c of (await this.changes?.applyDue()) ?? []) {
      // A conflict leaves the request failed, for its author to rebase: reported, not retried.
      if (c.error !== undefined) this.log.warn({ changeRequest: c.id, err: c.error }, "a scheduled change request could not be applied");
      else {
        this.log.info({ changeRequest: c.id, records: c.records!.length, revision: c.records!.at(-1)?.revision }, "applied a scheduled change request");
        written.push(...c.records!);
      }
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
