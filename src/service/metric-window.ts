import type { Counts } from "../domain/health/health-check.js";

interface Bucket {
  second: number;
  requests: number;
  errors: number;
}

const MAX_AGE_MS = 3_600_000;

/**
 * Pushed request/error counts per key and variant, in one-second buckets kept
 * for at most an hour: memory is bounded by keys x variants x seconds.
 */
export class MetricWindow {
  private readonly data = new Map<string, Map<string, Bucket[]>>();

  add(key: string, variant: string, requests: number, errors: number, time: number): void {
    let byVariant = this.data.get(key);
    if (!byVariant) this.data.set(key, (byVariant = new Map()));
    let buckets = byVariant.get(variant);
    if (!buckets) byVariant.set(variant, (buckets = []));
    const second = Math.floor(time / 1000);
    const last = buckets[buckets.length - 1];
    if (last?.second === second) {
      last.requests += requests;
      last.errors += errors;
    } else {
      buckets.push({ second, requests, errors });
      if (last && last.second > second) buckets.sort((a, b) => a.second - b.second);
    }
    const oldest = Math.floor((time - MAX_AGE_MS) / 1000);
    while (buckets.length > 0 && buckets[0]!.second < oldest) buckets.shift();
  }

  /** Sums since `since` (ms): variant "stable" is stable; every other variant is canary. */
  counts(key: string, since: number): { canary: Counts; stable: Counts } {
    const canary = { requests: 0, errors: 0 };
    const stable = { requests: 0, errors: 0 };
    const from = Math.floor(since / 1000);
    for (const [variant, buckets] of this.data.get(key) ?? []) {
      const into = variant === "stable" ? stable : canary;
      for (const b of buckets) {
        if (b.second < from) continue;
        into.requests += b.requests;
        into.errors += b.errors;
      }
    }
    return { canary, stable };
  }
}
