/** What share of the last transaction's round trip the committer waits for the writers it answered. */
const SHARE = 0.25;
/** The longest such wait, ms, whatever the round trip. */
const MAX_MS = 5;

/**
 * Group commit's wait for the writers a commit transaction just answered. The etcd committer
 * has one transaction in flight at a time and the next carries what queued meanwhile; writers
 * that keep n commits in flight then settle into two halves taking turns, each transaction
 * carrying half of them while the other half is answered. Waiting a little after a
 * transaction, until those it answered have sent their next commits, lets one carry all n:
 * fewer transactions, each doing more. (The level store does not wait: its syncs take a
 * millisecond or two, and the same wait there showed no gain in the bench.)
 */
export class CommitGather {
  private waiting: { target: number; wake: () => void } | undefined;
  private roundTripMs = 0;

  /** How long the last transaction took to come back from etcd, ms: the wait is a share of it. */
  wrote(ms: number): void {
    this.roundTripMs = ms;
  }

  /** Called with the queue's length each time a commit joins it. */
  queued(length: number): void {
    if (this.waiting && length >= this.waiting.target) this.waiting.wake();
  }

  /**
   * After a transaction that answered `answered` commits with `queued` already waiting:
   * resolves once `queued + answered` are queued, or `most` (what one transaction can carry at
   * most, when fewer), or after a quarter of the last round trip (5 ms at most; one turn of the
   * event loop when that is under a millisecond, by when the calls already received are
   * served). A commit that comes alone meanwhile waits that long at most. It waits for nothing
   * after a transaction that answered one writer (its next commit is sent at once), nor when
   * the queue already holds what the next transaction can carry.
   */
  async after(answered: number, queued: number, most: number): Promise<void> {
    const target = Math.min(queued + answered, most);
    if (answered < 2 || queued >= target) return;
    const waitMs = Math.min(MAX_MS, this.roundTripMs * SHARE);
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        if (turn !== undefined) clearImmediate(turn);
        this.waiting = undefined;
        resolve();
      };
      const timer = waitMs >= 1 ? setTimeout(wake, waitMs) : undefined;
      const turn = waitMs >= 1 ? undefined : setImmediate(wake);
      this.waiting = { target, wake };
    });
  }
}
