/**
 * Calls whose request has not arrived yet, each ended when its time is up. Checked together a few
 * times a second rather than with a timer per call; a call may so run up to one check past its
 * time.
 */
export class ArrivalDeadlines {
  /** Insertion order is deadline order: every call waits the same time. */
  private readonly waiting = new Set<Wait>();
  private timer: NodeJS.Timeout | undefined;
  private readonly checkMs: number;

  /** `ms` 0: no call is ever ended. */
  constructor(readonly ms: number) {
    this.checkMs = Math.max(10, Math.min(250, ms / 4));
  }

  /** Starts a call's wait: `expire` runs once it has waited `ms`, unless done() is given what this returns first. */
  start(expire: () => void): Wait | undefined {
    if (this.ms <= 0) return undefined;
    const wait = { due: Date.now() + this.ms, expire };
    this.waiting.add(wait);
    this.timer ??= setInterval(() => this.check(), this.checkMs).unref();
    return wait;
  }

  /** The call's request arrived, or the call ended. */
  done(wait: Wait | undefined): void {
    if (wait !== undefined) this.waiting.delete(wait);
  }

  private check(): void {
    const now = Date.now();
    for (const w of this.waiting) {
      if (w.due > now) break;
      this.waiting.delete(w);
      w.expire();
    }
    // Stopped once nothing waits, rather than at each done(): a steady stream of calls would
    // otherwise start and stop it every call.
    if (this.waiting.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

export interface Wait {
  readonly due: number;
  readonly expire: () => void;
}
