import type { Logger } from "pino";
import type { LogStore } from "../storage/log-store.js";
import type { VerifyReport } from "../storage/verify-report.js";

/**
 * Keeps the log's verification current: a full check in the background right after a start
 * that only checked the tail, then every `intervalMs`, and on demand (the admin RPC). Each
 * result is logged; a failure is logged at error level, and the store then refuses to serve.
 */
export class IntegrityService {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly store: LogStore,
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {}

  get last(): VerifyReport | undefined {
    return this.store.lastVerification;
  }

  start(): void {
    const opened = this.store.lastVerification;
    this.schedule(opened?.scope === "full" ? this.intervalMs : 0);
  }

  async verify(): Promise<VerifyReport> {
    const report = await this.store.verify();
    const fields = { scope: report.scope, revisions: report.to, records: report.recordsChecked, durationMs: report.durationMs };
    if (report.ok) this.log.info({ ...fields, headHash: report.headHash }, "store verified");
    else this.log.error({ ...fields, firstBadRevision: report.firstBadRevision, reason: report.reason }, "store failed verification; it no longer serves");
    return report;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.intervalMs <= 0) return;
    this.timer = setTimeout(() => {
      this.verify()
        .catch((e: unknown) => this.log.warn({ err: e }, "store verification did not run"))
        .finally(() => this.schedule(this.intervalMs));
    }, delayMs);
    this.timer.unref();
  }
}
