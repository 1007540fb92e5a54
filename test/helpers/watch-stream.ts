import type * as grpc from "@grpc/grpc-js";
import { WatchRequest, WatchStatus, type WatchResponse } from "../../src/gen/ctm/v1/config_service.js";
import type { Client } from "./client.js";

/** Collects a Watch stream's responses and lets a test wait for conditions on them. */
export class WatchStream {
  readonly responses: WatchResponse[] = [];
  readonly call: grpc.ClientReadableStream<WatchResponse>;
  error: grpc.ServiceError | undefined;
  ended = false;
  private waiters: (() => void)[] = [];

  constructor(client: Client, req: Partial<WatchRequest>) {
    this.call = client.watch(WatchRequest.fromPartial(req));
    this.call.on("data", (r: WatchResponse) => {
      this.responses.push(r);
      this.poke();
    });
    this.call.on("error", (e: grpc.ServiceError) => {
      this.error = e;
      this.poke();
    });
    this.call.on("end", () => {
      this.ended = true;
      this.poke();
    });
  }

  get events() {
    return this.responses.filter((r) => r.status === WatchStatus.WATCH_STATUS_EVENTS).flatMap((r) => r.events);
  }

  /** Resolves when `cond` holds; rejects after `ms` (a liveness bound, not a speed assertion). */
  async until(cond: () => boolean, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms; got ${this.events.length} events, error ${this.error?.message}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  cancel(): void {
    this.call.cancel();
  }

  private poke(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
