import type { Clock } from "../domain/clock.js";
import { invalidArgument, unavailable } from "../domain/errors.js";
import type { Counts } from "../domain/health/health-check.js";

/**
 * The documented bounds of the pushed-metrics window. Worst case it holds
 * maxKeys x 2 populations x (fineSpanMs / fineMs + maxAgeMs / coarseMs + 1) buckets:
 * 1000 x 2 x 361, about 30 MiB, whatever clients send.
 */
export const METRIC_WINDOW_LIMITS = {
  /** Keys with a window at once. */
  maxKeys: 1000,
  /** Recent samples are summed per second... */
  fineMs: 1000,
  /** ...for this long; older ones per minute, so long windows are exact to a minute at their old edge. */
  fineSpanMs: 300_000,
  coarseMs: 60_000,
  /** Nothing older is kept: a health check's window sees at most this far back. */
  maxAgeMs: 3_600_000,
  /** A full window makes room by evicting the key reported least recently, if it has been quiet this long. */
  evictIdleMs: 300_000,
  /** A sample's own time may differ from the server's by at most this. */
  maxSkewMs: 60_000,
} as const;

export type MetricWindowLimits = { [K in keyof typeof METRIC_WINDOW_LIMITS]: number };

export interface Sample {
  key: string;
  /** "stable" is the stable population; every other variant is canary. */
  variant: string;
  requests: number;
  errors: number;
  /** The client's time (ms): information only, refused when skewed beyond maxSkewMs. */
  time?: number;
}

interface Bucket {
  start: number;
  requests: number;
  errors: number;
}

/** One population's buckets, oldest first: coarse ones, then fine ones. */
class Series {
  private readonly coarse: Bucket[] = [];
  private readonly fine: Bucket[] = [];

  constructor(private readonly limits: MetricWindowLimits) {}

  add(now: number, requests: number, errors: number): void {
    const { fineMs, coarseMs } = this.limits;
    const start = now - (now % fineMs);
    const last = this.fine[this.fine.length - 1];
    if (last?.start === start) {
      last.requests += requests;
      last.errors += errors;
    } else this.fine.push({ start, requests, errors });
    while (this.fine.length > 0 && this.fine[0]!.start < now - this.limits.fineSpanMs) {
      const b = this.fine.shift()!;
      const minute = b.start - (b.start % coarseMs);
      const c = this.coarse[this.coarse.length - 1];
      if (c?.start === minute) {
        c.requests += b.requests;
        c.errors += b.errors;
      } else this.coarse.push({ start: minute, requests: b.requests, errors: b.errors });
    }
    this.expire(now);
  }

  expire(now: number): void {
    const oldest = now - this.limits.maxAgeMs;
    while (this.coarse.length > 0 && this.coarse[0]!.start < oldest) this.coarse.shift();
    while (this.fine.length > 0 && this.fine[0]!.start < oldest) this.fine.shift();
  }

  /** Buckets that start at or after `since` (a coarse bucket straddling it is left out). */
  sum(since: number, into: Counts): void {
    for (const list of [this.coarse, this.fine]) {
      for (const b of list) {
        if (b.start < since) continue;
        into.requests += b.requests;
        into.errors += b.errors;
      }
    }
  }

  get buckets(): number {
    return this.coarse.length + this.fine.length;
  }
}

interface KeyWindow {
  stable: Series;
  canary: Series;
  lastReport: number;
}

/**
 * Request and error counts that services push, per key, aged by the SERVER's clock: a
 * sample counts at the second it arrived, so a client with a skewed clock can neither
 * push old errors into the present nor keep numbers alive past their time. Memory is
 * bounded (see METRIC_WINDOW_LIMITS); idle keys are evicted.
 */
export class MetricWindow {
  /** In order of last report, least recent first. */
  private readonly data = new Map<string, KeyWindow>();

  constructor(
    private readonly clock: Clock,
    private readonly limits: MetricWindowLimits = METRIC_WINDOW_LIMITS,
  ) {}

  /** Keys holding a window. */
  get size(): number {
    return this.data.size;
  }

  /** Buckets held, over every key: what the bound is about. */
  get buckets(): number {
    let n = 0;
    for (const w of this.data.values()) n += w.stable.buckets + w.canary.buckets;
    return n;
  }

  /** Takes every sample or, when one is refused, none. Returns how many were taken. */
  addAll(samples: readonly Sample[]): number {
    const now = this.clock.now();
    samples.forEach((s, i) => {
      if (s.time === undefined) return;
      const skew = s.time - now;
      if (!(Math.abs(skew) <= this.limits.maxSkewMs)) {
        throw invalidArgument(
          `samples[${i}].time`,
          `is ${Math.round(skew / 1000)}s from the server's clock; at most ${this.limits.maxSkewMs / 1000}s is accepted (leave it unset: samples count when they arrive)`,
        );
      }
    });
    this.makeRoom(samples, now);
    for (const s of samples) {
      let w = this.data.get(s.key);
      if (w === undefined) w = { stable: new Series(this.limits), canary: new Series(this.limits), lastReport: now };
      // Re-inserted: the map stays ordered by last report.
      this.data.delete(s.key);
      this.data.set(s.key, w);
      w.lastReport = now;
      (s.variant === "stable" ? w.stable : w.canary).add(now, s.requests, s.errors);
    }
    return samples.length;
  }

  /** Sums since `since` (ms, server time): variant "stable" is stable; every other variant is canary. */
  counts(key: string, since: number): { canary: Counts; stable: Counts } {
    const canary = { requests: 0, errors: 0 };
    const stable = { requests: 0, errors: 0 };
    const w = this.data.get(key);
    if (w !== undefined) {
      w.canary.sum(since, canary);
      w.stable.sum(since, stable);
    }
    return { canary, stable };
  }

  /** Evicts quiet keys, least recently reported first, until the new keys of `samples` fit; refuses otherwise. */
  private makeRoom(samples: readonly Sample[], now: number): void {
    const batch = new Set(samples.map((s) => s.key));
    let fresh = 0;
    for (const k of batch) if (!this.data.has(k)) fresh++;
    const fits = (): boolean => this.data.size + fresh <= this.limits.maxKeys;
    if (fits()) return;
    for (const [key, w] of this.data) {
      if (fits() || w.lastReport >= now - this.limits.evictIdleMs) break;
      if (!batch.has(key)) this.data.delete(key);
    }
    if (!fits()) {
      throw unavailable(
        `the metrics window holds its maximum of ${this.limits.maxKeys} keys, all reported in the last ${this.limits.evictIdleMs / 1000}s; samples for new keys are refused until one goes quiet`,
      );
    }
  }
}
