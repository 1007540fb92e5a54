import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { systemClock } from "../../domain/clock.js";
import { ConfigServiceClient, ConfigServiceService, WatchResponse, WatchStatus, type WatchRequest } from "../../gen/ctm/v1/config_service.js";
import { ConfigService } from "../../service/config-service.js";
import { LevelLogStore } from "../../storage/level/level-log-store.js";
import { WatchHub } from "../../watch/watch-hub.js";
import { watchHandler, type WatchWire } from "./watch-handler.js";

const BIG = "x".repeat(64 * 1024);

let dir: string;
let store: LevelLogStore;
let hub: WatchHub;
let svc: ConfigService;
let server: grpc.Server;
let client: ConfigServiceClient;
/** The server side of every Watch call, as grpc-js hands it to the handler. */
const calls: grpc.ServerWritableStream<WatchRequest, WatchWire>[] = [];
/** Writes that returned false (the stream was full): each one waited for "drain". */
let slowWrites = 0;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-watch-handler-"));
  store = new LevelLogStore(dir, systemClock);
  await store.open();
  hub = new WatchHub(store);
  svc = new ConfigService(store, hub, systemClock);
  const handler = watchHandler(svc, { log: pino({ level: "silent" }) }, { progressIntervalMs: 60_000 });
  server = new grpc.Server();
  const watch = { ...ConfigServiceService.watch, responseSerialize: (v: WatchWire) => (Buffer.isBuffer(v) ? v : Buffer.from(WatchResponse.encode(v).finish())) };
  server.addService({ watch } as unknown as grpc.ServiceDefinition, {
    watch: (call: grpc.ServerWritableStream<WatchRequest, WatchWire>) => {
      calls.push(call);
      const write = call.write.bind(call) as (chunk: WatchWire) => boolean;
      // Counts, and passes through: the real write decides.
      call.write = ((chunk: WatchWire) => {
        const ok = write(chunk);
        if (!ok) slowWrites++;
        return ok;
      }) as typeof call.write;
      handler(call);
    },
  });
  const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  client = new ConfigServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});
afterEach(async () => {
  client.close();
  server.forceShutdown();
  hub.close();
  await store.close();
  await fs.rm(dir, { recursive: true, force: true });
  calls.length = 0;
  slowWrites = 0;
});

const listeners = (call: grpc.ServerWritableStream<WatchRequest, WatchWire>): number =>
  call.listenerCount("drain") + call.listenerCount("cancelled") + call.listenerCount("close") + call.listenerCount("error");

async function until(what: string, f: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !f(); i++) await sleep(5);
  expect(f(), what).toBe(true);
}

describe("Watch under back-pressure", () => {
  it("many slow writes leave the call's listener count where it started", async () => {
    const stream = client.watch({ key: "big", prefix: false, startRevision: 0 });
    let events = 0;
    stream.on("data", (r: WatchResponse) => {
      if (r.status === WatchStatus.WATCH_STATUS_EVENTS) events += r.events.length;
    });
    stream.on("error", () => {});
    await until("the stream opened", () => calls.length === 1);
    const call = calls[0]!;
    await until("the CREATED response went out", () => call.listenerCount("cancelled") > 0);
    const baseline = listeners(call);

    let written = 0;
    for (let round = 0; round < 8; round++) {
      // The client stops reading: flow control fills up and the server's writes return false.
      stream.pause();
      const before = slowWrites;
      for (let i = 0; i < 40; i++, written++) await svc.set({ key: "big", value: `${round}.${i}.${BIG}` });
      await until(`round ${round} hit back-pressure`, () => slowWrites > before);
      stream.resume();
      await until(`round ${round} delivered`, () => events === written);
    }
    expect(slowWrites).toBeGreaterThanOrEqual(8);
    expect(listeners(call)).toBeLessThanOrEqual(baseline);
    stream.cancel();
  }, 60_000);
});
