import * as grpc from "@grpc/grpc-js";
import { WatchRequest, WatchResponse, WatchStatus } from "../src/gen/ctm/v1/config_service.js";
import { isWatchPayload, type OnDelivery, type Watchers } from "./watch-delivery.js";

/** `count` ctm Watch streams on one key, spread over `channels` HTTP/2 connections. */
export function openCtmWatchers(
  address: string,
  key: string,
  count: number,
  channels: number,
  onDelivery: OnDelivery,
  timeoutMs = 60_000,
): Watchers {
  const clients = Array.from(
    { length: channels },
    (_, i) => new grpc.Client(address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1, "grpc.bench.channel": i }),
  );
  const streams: grpc.ClientReadableStream<WatchResponse>[] = [];
  const errors: string[] = [];
  let created = 0;
  let closing = false;
  const request = Buffer.from(WatchRequest.encode({ key, prefix: false, startRevision: 0 }).finish());
  const created$ = new Promise<{ created: number; errors: string[] }>((resolve) => {
    const done = (): void => resolve({ created, errors });
    const timer = setTimeout(done, timeoutMs);
    for (let i = 0; i < count; i++) {
      const stream = clients[i % channels]!.makeServerStreamRequest<Buffer, WatchResponse>(
        "/ctm.v1.ConfigService/Watch",
        (b) => b,
        (b) => WatchResponse.decode(b),
        request,
        {},
      );
      let isCreated = false;
      stream.on("data", (res: WatchResponse) => {
        const now = process.hrtime.bigint();
        if (res.status === WatchStatus.WATCH_STATUS_CREATED && !isCreated) {
          isCreated = true;
          if (++created === count) {
            clearTimeout(timer);
            done();
          }
        } else if (res.status === WatchStatus.WATCH_STATUS_EVENTS) {
          for (const entry of res.events) {
            if (isWatchPayload(entry.value)) onDelivery(i, entry.value, now);
          }
        }
      });
      stream.on("error", (err: grpc.ServiceError) => {
        if (!closing && errors.length < 10) errors.push(`stream ${i}: ${grpc.status[err.code]} ${err.details}`);
      });
      streams.push(stream);
    }
  });
  return {
    created: created$,
    close() {
      closing = true;
      for (const s of streams) s.cancel();
      for (const c of clients) c.close();
    },
  };
}
