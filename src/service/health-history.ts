import type { CheckState } from "./health-service.js";

/** Points kept per key: a day of ticks at one per 2 minutes, or the last 12 minutes at one per second. */
const POINTS_PER_KEY = 720;
/** Keys kept: the least recently judged ones go first. */
const MAX_KEYS = 1000;

/**
 * What the health loop saw, tick by tick, per key: the verdicts and error rates a console draws
 * beside a rollout's curve. Memory only and bounded (a key's oldest points, then the least
 * recently judged keys, are dropped): the log keeps what was acted on (auto-rollback and pause
 * records), this keeps how it looked until then.
 */
export class HealthHistory {
  private readonly byKey = new Map<string, CheckState[]>();

  add(state: CheckState): void {
    let points = this.byKey.get(state.key);
    if (points === undefined) {
      if (this.byKey.size >= MAX_KEYS) this.byKey.delete(this.byKey.keys().next().value!);
      points = [];
    } else this.byKey.delete(state.key);
    // Re-inserted: the map's order is least recently judged first.
    this.byKey.set(state.key, points);
    points.push(state);
    if (points.length > POINTS_PER_KEY) points.splice(0, points.length - POINTS_PER_KEY);
  }

  /** A breach replaces the tick's verdict: the point already recorded is marked. */
  markBreached(state: CheckState): void {
    const last = this.byKey.get(state.key)?.at(-1);
    if (last?.check === state.check && last.checkedAt === state.checkedAt) last.verdict = "breached";
  }

  of(key: string): readonly CheckState[] {
    return this.byKey.get(key) ?? [];
  }
}
