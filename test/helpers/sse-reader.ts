/** One server-sent event as the stream spelled it. */
export interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
}

type Entry = { key: string; value: unknown; revision: string };

/**
 * Reads a text/event-stream response with fetch, as the console does (an EventSource cannot send
 * an Authorization header), and parses it into events as they arrive.
 */
export class SseReader {
  readonly events: SseEvent[] = [];
  lastId: string | undefined;
  private buffer = "";
  private waiters: (() => void)[] = [];
  private readonly abort: AbortController;

  private constructor(
    readonly status: number,
    abort: AbortController,
  ) {
    this.abort = abort;
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const abort = new AbortController();
    const res = await fetch(url, { headers, signal: abort.signal });
    const r = new SseReader(res.status, abort);
    if (res.body) void r.pump(res.body);
    return r;
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        this.buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = this.buffer.indexOf("\n\n")) >= 0) {
          const block = this.buffer.slice(0, end);
          this.buffer = this.buffer.slice(end + 2);
          const e: SseEvent = { event: "message", id: undefined, data: "" };
          for (const line of block.split("\n")) {
            const i = line.indexOf(":");
            const [field, value] = i < 0 ? [line, ""] : [line.slice(0, i), line.slice(i + 1).replace(/^ /, "")];
            if (field === "event") e.event = value;
            else if (field === "id") e.id = this.lastId = value;
            else if (field === "data") e.data += e.data ? `\n${value}` : value;
          }
          if (e.data !== "" || e.event !== "message") this.events.push(e);
        }
        for (const w of this.waiters.splice(0)) w();
      }
    } catch {
      // Aborted by close().
    }
  }

  /** The first event (from the start) that satisfies `pred`, waiting up to `ms`. */
  async next(pred: (e: SseEvent) => boolean, ms = 20_000): Promise<SseEvent> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.events.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching event within ${ms} ms; saw ${JSON.stringify(this.events)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  /** The first `n` Watch entries the `events` events carried, waiting for them. */
  async collectEvents(n: number, ms = 20_000): Promise<Entry[]> {
    const entries = (): Entry[] => this.events.filter((e) => e.event === "events").flatMap((e) => (JSON.parse(e.data) as { events: Entry[] }).events);
    await this.next(() => entries().length >= n, ms);
    return entries().slice(0, n);
  }

  close(): void {
    this.abort.abort();
  }
}
