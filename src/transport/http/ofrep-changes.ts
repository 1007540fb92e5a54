import type { LogRecord } from "@ctm/core/record";
import type { ConfigService } from "../../service/config-service.js";
import type { Watcher } from "../../watch/watcher.js";

export interface ChangeListener {
  /** Each batch of records committed under the prefix, in revision order. */
  batch(records: readonly LogRecord[]): void;
  /** The watch ended: ctmd is stopping. */
  end(): void;
}

/**
 * The commits under each prefix OFREP streams follow, from ConfigService's Watch: one watcher per
 * prefix whatever the number of streams on it, so a thousand browsers on one prefix cost the hub
 * one watcher. The watcher starts with the first listener and closes with the last.
 */
export class OfrepChanges {
  private readonly feeds = new Map<string, { watcher: Watcher; listeners: Set<ChangeListener> }>();

  constructor(private readonly config: ConfigService) {}

  get listeners(): number {
    let n = 0;
    for (const f of this.feeds.values()) n += f.listeners.size;
    return n;
  }

  /** Follows `prefix` from the next commit on; returns the unsubscribe. */
  subscribe(prefix: string, listener: ChangeListener): () => void {
    let feed = this.feeds.get(prefix);
    if (feed === undefined) {
      feed = { watcher: this.config.watch(prefix, true, 0), listeners: new Set() };
      this.feeds.set(prefix, feed);
      void this.pump(prefix, feed);
    }
    feed.listeners.add(listener);
    const f = feed;
    return () => {
      f.listeners.delete(listener);
      if (f.listeners.size === 0 && this.feeds.get(prefix) === f) {
        this.feeds.delete(prefix);
        f.watcher.close();
      }
    };
  }

  private async pump(prefix: string, feed: { watcher: Watcher; listeners: Set<ChangeListener> }): Promise<void> {
    try {
      for await (const batch of feed.watcher) for (const l of [...feed.listeners]) l.batch(batch);
    } catch {
      // A watcher that cannot read the log on (a failed store) ends its streams; clients reconnect.
    }
    if (this.feeds.get(prefix) === feed) this.feeds.delete(prefix);
    for (const l of [...feed.listeners]) l.end();
  }
}
