import type { ApiClient } from "./api-client.js";
import type { Entry, WatchResponse } from "./api-types.js";
import { SseParser } from "./sse-parser.js";

/** What a page shows about its live updates. */
export type FeedState = { state: "connecting" | "live" | "reconnecting" } | { state: "stopped"; reason: string };

export interface FeedOptions {
  /** Watch one key, or (without it) every key under `prefix` ("" for all). */
  key?: string;
  prefix?: string;
  /** The revision the page's data was read at: the feed starts right after it, so nothing falls between. */
  after?: string;
  onEvents(entries: Entry[]): void;
  onState(s: FeedState): void;
}

/** Refusals that retrying cannot cure: the page says why and stops listening. */
const FINAL = new Set(["unauthenticated", "permission_denied", "invalid_argument"]);

/**
 * Watch as the page listens to it: GET /api/events read with fetch (the bearer header is sent,
 * which EventSource cannot do), resumed after a drop from the last revision seen with
 * Last-Event-ID, so no change is missed or shown twice.
 */
export class EventFeed {
  private readonly abort = new AbortController();
  private lastId: string | undefined;

  constructor(
    private readonly api: ApiClient,
    private readonly opts: FeedOptions,
  ) {
    this.lastId = opts.after;
  }

  start(): void {
    void this.run();
  }

  close(): void {
    this.abort.abort();
  }

  private async run(): Promise<void> {
    const q = new URLSearchParams(this.opts.key !== undefined ? { key: this.opts.key } : { prefix: this.opts.prefix ?? "" });
    let retryMs = 2000;
    this.opts.onState({ state: "connecting" });
    while (!this.abort.signal.aborted) {
      const parser = new SseParser();
      try {
        const res = await this.api.events(q, this.lastId, this.abort.signal);
        if (!res.ok || res.body === null) {
          const e = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
          if (FINAL.has(e.code ?? "")) return this.stop(e.message ?? e.code ?? "");
          throw new Error(e.message ?? `HTTP ${res.status}`);
        }
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const ev of parser.push(value)) {
            if (ev.event === "error") {
              const e = JSON.parse(ev.data) as { code?: string; message?: string };
              if (FINAL.has(e.code ?? "")) return this.stop(e.message ?? "");
              // out_of_range (compacted) and the like: start again from now.
              this.lastId = undefined;
              continue;
            }
            if (ev.event === "created") this.opts.onState({ state: "live" });
            if (ev.id !== undefined) this.lastId = ev.id;
            if (ev.event === "events") this.opts.onEvents((JSON.parse(ev.data) as WatchResponse).events ?? []);
          }
        }
      } catch {
        if (this.abort.signal.aborted) return;
      }
      retryMs = parser.retryMs ?? retryMs;
      this.opts.onState({ state: "reconnecting" });
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }

  private stop(reason: string): void {
    this.opts.onState({ state: "stopped", reason });
  }
}
