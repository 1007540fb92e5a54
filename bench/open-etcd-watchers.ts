import * as grpc from "@grpc/grpc-js";
import { decodeEtcdWatchResponse, etcdWatchCreateRequest } from "./etcd-messages.js";
import { isWatchPayload, type OnDelivery, type Watchers } from "./watch-delivery.js";

/** `count` etcd Watch streams (one watch each) on one key, over `channels` HTTP/2 connections. */
export function openEtcdWatchers(
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
  const streams: grpc.ClientDuplexStream<Buffer, Buffer>[] = [];
  const errors: string[] = [];
  const decoder = new TextDecoder();
  let created = 0;
  let closing = false;
  const request = Buffer.from(etcdWatchCreateRequest(key));
  const created$ = new Promise<{ created: number; errors: string[] }>((resolve) => {
    const done = (): void => resolve({ created, errors });
    const timer = setTimeout(done, timeoutMs);
    for (let i = 0; i < count; i++) {
      const stream = clients[i % channels]!.makeBidiStreamRequest<Buffer, Buffer>(
        "/etcdserverpb.Watch/Watch",
        (b) => b,
        (b) => b,
        {},
      );
      let isCreated = false;
      stream.on("data", (bytes: Buffer) => {
        const now = process.hrtime.bigint();
        const res = decodeEtcdWatchResponse(bytes);
        if (res.created && !isCreated) {
          isCreated = true;
          if (++created === count) {
            clearTimeout(timer);
            done();
          }
        }
        for (const kv of res.events) {
          let value: unknown;
          try {
            value = JSON.parse(decoder.decode(kv.value));
          } catch {
            continue;
          }
          if (isWatchPayload(value)) onDelivery(i, value, now);
        }
      });
      stream.on("error", (err: grpc.ServiceError) => {
        if (!closing && errors.length < 10) errors.push(`stream ${i}: ${grpc.status[err.code]} ${err.details}`);
      });
      stream.write(request);
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
