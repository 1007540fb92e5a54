import { CtmError } from "../domain/errors.js";
import type { JsonValue } from "@ctm/core/json";
import type { Draft, LogRecord } from "@ctm/core/record";
import type { WriteView } from "../storage/log-store.js";
import type { Pause } from "../storage/time-slices.js";

/** What a rollout written now would fall back to: a rolling value's stable, else the value (none when deleted). */
export const stableOf = (r: Pick<LogRecord, "deleted" | "value" | "rollout"> | undefined): JsonValue | undefined =>
  r === undefined || r.deleted ? undefined : r.rollout ? r.rollout.plan.stable : r.value;

/** A key's stable value as one `prepare` sees it; `wrote` records what the batch itself writes. */
export interface StableReader {
  stable(key: string): JsonValue | undefined;
  wrote(key: string, draft: Pick<Draft, "deleted" | "value" | "rollout">): void;
}

/** Keys a large batch lets go of in one turn of the event loop once it is durable (100,000 at once took 20 ms). */
const RELEASED_PER_TURN = 4096;

/**
 * The values a writer has handed to the store that are not durable yet. The store's
 * WriteView knows a key's version but not its value, and `latest` knows only durable
 * records; between the two, a Set that group-commits just before a Set-with-rollout would
 * be skipped as the rollout's default stable. With this map `prepare` reads the value of
 * exactly the version the writer's view is at. Entries live as long as their commit.
 */
export class InFlightValues {
  private readonly byKey = new Map<string, { version: number; stable: JsonValue | undefined }>();

  constructor(private readonly latest: (key: string) => LogRecord | undefined) {}

  get size(): number {
    return this.byKey.size;
  }

  /**
   * A reader for one `prepare`. A version written by a writer that does not go through
   * this map (the scheduler, the health loop) and not durable yet is unknown here:
   * that is a conflict the client retries, never a guess.
   */
  reader(view: WriteView): StableReader {
    const local = new Map<string, JsonValue | undefined>();
    return {
      stable: (key) => {
        if (local.has(key)) return local.get(key);
        const head = view.head(key);
        if (head === undefined || head.deleted) return undefined;
        const held = this.byKey.get(key);
        if (held?.version === head.version) return held.stable;
        const durable = this.latest(key);
        if (durable?.version === head.version) return stableOf(durable);
        throw new CtmError("conflict", `key "${key}" is being changed by another writer; retry`, "key");
      },
      wrote: (key, draft) => void local.set(key, stableOf(draft)),
    };
  }

  /** Remembers `drafts` (about to get versions after the view's heads) until the returned release is called. */
  hold(view: WriteView, drafts: readonly Draft[]): () => void {
    const versions = new Map<string, number>();
    for (const d of drafts) this.holdOne(view, d, versions);
    return this.releaser(versions);
  }

  /**
   * The same for a batch too large for one turn of the event loop (see LogStore.commitAlone); it
   * is let go over the turns after its commit, RELEASED_PER_TURN keys a turn. Meanwhile a held
   * entry names the version the durable head has, with that version's stable value, so readers
   * answer the same with it or without it.
   */
  async holdInSlices(view: WriteView, drafts: readonly Draft[], pause: Pause): Promise<() => void> {
    const versions = new Map<string, number>();
    for (const d of drafts) {
      this.holdOne(view, d, versions);
      const p = pause();
      if (p) await p;
    }
    const release = this.releaser(versions);
    return () => release(RELEASED_PER_TURN);
  }

  private holdOne(view: WriteView, d: Draft, versions: Map<string, number>): void {
    const version = (versions.get(d.key) ?? view.head(d.key)?.version ?? 0) + 1;
    versions.set(d.key, version);
    this.byKey.set(d.key, { version, stable: stableOf(d) });
  }

  private releaser(versions: Map<string, number>): (perTurn?: number) => void {
    return (perTurn = Infinity) => {
      const held = versions.entries();
      const turn = (): void => {
        let n = 0;
        for (let e = held.next(); !e.done; e = held.next()) {
          const [key, version] = e.value;
          if (this.byKey.get(key)?.version === version) this.byKey.delete(key);
          if (++n === perTurn) return void setImmediate(turn);
        }
      };
      turn();
    };
  }
}
