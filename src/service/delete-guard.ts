import type { Clock } from "../domain/clock.js";
import { CtmError } from "../domain/errors.js";
import type { ReadStats } from "./read-stats.js";

/**
 * Refuses to delete a key that was read within `windowMs`: something still uses it. `force`
 * deletes it anyway. Off when `windowMs` is 0.
 */
export class DeleteGuard {
  constructor(
    private readonly reads: ReadStats,
    private readonly clock: Clock,
    readonly windowMs: number,
  ) {}

  /**
   * Resolves once the counts saved before this start are in, and what other replicas saved of
   * `keys` is read: a guard that checked before would miss them.
   */
  ready(keys: readonly string[]): Promise<void> {
    return this.reads.refresh(keys);
  }

  check(key: string, force: boolean, field: string): void {
    if (force || this.windowMs <= 0) return;
    const { lastRead, reads } = this.reads.of(key);
    const now = this.clock.now();
    if (lastRead > 0 && now - lastRead < this.windowMs) {
      const ago = Math.max(0, Math.round((now - lastRead) / 1000));
      throw new CtmError(
        "failed_precondition",
        `${field}: "${key}" was read ${ago} s ago (${new Date(lastRead).toISOString()}, ${reads} reads counted): something still uses it; set force to delete it anyway`,
        field,
        { lastRead: new Date(lastRead).toISOString(), reads },
      );
    }
  }
}
