import type { SnapshotBody } from "./snapshot-response.js";

/** Listings read ahead at once; each holds one page (at most SNAPSHOT_WIRE_BYTES) until asked for. */
const MAX_PAGES = 4;
/** How long a page read ahead waits for its client's next call. */
const KEEP_MS = 10_000;

export interface PageRequest {
  prefix: string;
  pageSize: number;
  pageToken: string;
}

/**
 * Reads a listing's next page while its client takes in the page just sent, so the server's work
 * on a page and the page's transfer and decoding on the client overlap, as they do in one long
 * answer, instead of taking turns. Every page of a listing is pinned to one revision, so a page
 * read early is the page read late, unless a compaction has taken that revision since: `served`
 * says, and a page it refuses is read again (and answers OUT_OF_RANGE as any read would).
 * Bounded: a few pages at once, the oldest dropped first, each for a few seconds.
 */
export class SnapshotReadAhead {
  private readonly pages = new Map<string, Held>();

  constructor(
    private readonly maxPages = MAX_PAGES,
    private readonly keepMs = KEEP_MS,
  ) {}

  /** How many pages are held or being read. */
  get size(): number {
    return this.pages.size;
  }

  /**
   * The page `req` asks for: the one read ahead for it when there is one and `served` accepts its
   * revision, else `read(req.pageToken)`. The page after it is then read ahead.
   */
  async page(req: PageRequest, read: (pageToken: string) => Promise<SnapshotBody>, served: (revision: number) => boolean): Promise<SnapshotBody> {
    const ahead = req.pageToken === "" ? undefined : this.take(keyOf(req, req.pageToken));
    // A read ahead that failed is read again: this call's own read gives the answer to report.
    let body = ahead && (await ahead.then((b) => (served(b.revision) ? b : undefined), () => undefined));
    body ??= await read(req.pageToken);
    const next = body.nextPageToken;
    if (next !== "") this.start(keyOf(req, next), () => read(next));
    return body;
  }

  private take(key: string): Promise<SnapshotBody> | undefined {
    const held = this.pages.get(key);
    if (held === undefined) return undefined;
    clearTimeout(held.timer);
    this.pages.delete(key);
    return held.body;
  }

  /** Forgets a page nobody took: one not started yet is never read. */
  private drop(key: string): void {
    const held = this.pages.get(key);
    if (held === undefined) return;
    held.dropped = true;
    this.take(key);
  }

  private start(key: string, read: () => Promise<SnapshotBody>): void {
    if (this.pages.has(key)) return;
    if (this.pages.size >= this.maxPages) this.drop(this.pages.keys().next().value!);
    const held: Held = { body: undefined!, timer: setTimeout(() => this.drop(key), this.keepMs).unref(), dropped: false };
    // After this turn's I/O, so the page just made is on its way before the next one is made.
    held.body = new Promise<void>((resolve) => setImmediate(resolve)).then(() => (held.dropped ? Promise.reject(new Error("dropped")) : read()));
    // A dropped page is never awaited; a taken one is awaited with its own handler.
    held.body.catch(() => undefined);
    this.pages.set(key, held);
  }
}

interface Held {
  body: Promise<SnapshotBody>;
  timer: NodeJS.Timeout;
  dropped: boolean;
}

const keyOf = (req: PageRequest, pageToken: string): string => JSON.stringify([req.prefix, req.pageSize, pageToken]);
