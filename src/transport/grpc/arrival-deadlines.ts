/**
 * Calls whose request has not arrived yet, each ended when its time is up. Checked together a few
 * times a second rather than with a timer per call, from an array compacted at each check: a timer
 * per call made a Get about 5 µs dearer, a Set every call joins and leaves about 8 µs (10%), this
 * nothing measurable (bench: Get at c64, alternating). A call may run up to one check past its time.
 */
export class ArrivalDeadlines {
  /** Waits in the order they started, which is deadline order: every call waits the same time. */
  private waiting: Wait[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly checkMs: number;

  /** `ms` 0: no call is ever ended. */
  constructor(readonly ms: number) {
    this.checkMs = Math.max(10, Math.min(250, ms / 4));
  }

  /** Starts a call's wait: `expire` runs once it has waited `ms`, unless done() is given what this returns first. */
  start(expire: () => void): Wait | undefined {
    if (this.ms <= 0) return undefined;
    const wait: Wait = { due: Date.now() + this.ms, expire };
    this.waiting.push(wait);
    this.timer ??= setInterval(() => this.check(), this.checkMs).unref();
    return wait;
  }

  /** The call's request arrived, or the call ended: its wait is dropped at the next check. */
  done(wait: Wait | undefined): void {
    if (wait !== undefined) wait.expire = undefined;
  }

  private check(): void {
    const now = Date.now();
    const all = this.waiting;
    let kept = 0;
    for (let i = 0; i < all.length; i++) {
      const w = all[i]!;
      const expire = w.expire;
      if (expire === undefined) continue;
      if (w.due <= now) {
        w.expire = undefined;
        expire();
      } else all[kept++] = w;
    }
    all.length = kept;
    // Stopped once nothing waits: a steady stream of calls restarts it a few times a second at most.
    if (kept === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

export interface Wait {
  readonly due: number;
  expire: (() => void) | undefined;
}
