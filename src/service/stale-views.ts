import type { Logger } from "pino";
import type { Metrics } from "./metrics.js";

/**
 * Whether every view derived from the log by a commit listener (the watch hub, the rollouts
 * index, validators, health checks) is whole. A listener that throws has missed a batch: its
 * view is stale and stays so until ctmd restarts and rebuilds it from the store, so ctmd
 * reports NOT_SERVING rather than answer from it. Failures are logged and counted, never
 * a bare process warning.
 */
export class StaleViews {
  private failures = 0;

  constructor(
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {}

  get stale(): boolean {
    return this.failures > 0;
  }

  /** The store's listener-error hook. */
  readonly listenerFailed = (error: Error): void => {
    this.failures++;
    this.metrics?.commitListenerErrors.inc();
    this.metrics?.viewsStale.set(1);
    this.log.error({ err: error, failures: this.failures }, "a commit listener failed; its view is stale: NOT_SERVING until ctmd restarts");
  };
}
