import type { Logger } from "pino";
import { leaderOnly } from "../storage/leader-only.js";
import type { HealthCheck, Observation } from "../domain/health/health-check.js";
import type { HealthService, HealthTarget } from "../service/health-service.js";
import type { Metrics } from "../service/metrics.js";
import { probeHttp, prometheusObservation } from "./sources.js";

/**
 * Every tick, judges each check of each key that rolls out or bakes, and lets
 * the service act on breaches. An HTTP check is probed once per tick however
 * many keys it covers. Ticks never overlap.
 */
export class HealthLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly health: HealthService,
    private readonly log: Logger,
    private readonly intervalMs = 1000,
    private readonly metrics?: Metrics,
  ) {}

  start(): void {
    this.closed = false;
    this.schedule(this.intervalMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass. A failure (an auto-rollback the store refused) is logged and counted here, then thrown. */
  async tick(): Promise<void> {
    try {
      await this.judgeAll();
    } catch (e) {
      this.metrics?.backgroundFailures.inc({ loop: "health" });
      this.log.error({ err: e }, "health tick failed; a breach may not have been acted on (retried next tick)");
      throw e;
    }
  }

  private async judgeAll(): Promise<void> {
    const targets = await this.health.targets();
    const probed = new Map<string, Promise<void>>();
    for (const target of targets) {
      for (const check of this.health.checksFor(target.key, target)) {
        const obs = await this.observe(check, target, probed);
        const written = await this.health.judgeAndAct(check, target, obs);
        if (written) {
          this.log.warn({ key: written.key, check: check.name, kind: written.kind, revision: written.revision, message: written.message }, "health check breached");
        }
      }
    }
  }

  private async observe(check: HealthCheck, target: HealthTarget, probed: Map<string, Promise<void>>): Promise<Observation> {
    const s = check.source;
    if (s.kind === "pushed") return this.health.pushedObservation(check, target.key);
    if (!this.health.mayFetch(check)) return { canary: { requests: 0, errors: 0 }, unavailable: `host of ${s.url} is not in --health-allow-hosts` };
    if (s.kind === "prometheus") return prometheusObservation(s.url, s.query, s.stableQuery, target.key);
    let once = probed.get(check.name);
    if (!once) {
      once = probeHttp(s.url, s.expectStatus, s.maxLatencyMs).then((r) => this.health.recordProbe(check, r.ok));
      probed.set(check.name, once);
    }
    await once;
    return this.health.probeObservation(check);
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
