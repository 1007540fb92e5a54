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
import { WATCH_WIRE_BYTES, watchHandler, type WatchWire } from "./watch-handler.js";

const BIG = "x".repeat(64 * 1024);
/** The handler's limit here: the tests open up to this many streams from the one client. */
const STREAMS_PER_CLIENT = 5;

let dir: string;
let store: LevelLogStore;
let hub: WatchHub;
let svc: ConfigService;
let server: grpc.Server;
let client: ConfigServiceClient;
/** The server side of every Watch call, as grpc-js hands it to the handler. */
const calls: grpc.ServerWritableStream<WatchRequest, WatchWire>[] = [];
/** What each call wrote, in the order of `calls`. */
const writes: WatchWire[][] = [];
/** Writes that returned false (the stream was full): each one waited for "drain". */
let slowWrites = 0;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "ctm-watch-handler-"));
  store = new LevelLogStore(dir, systemClock);
  await store.open();
  hub = new WatchHub(store);
  svc = new ConfigService(store, hub, systemClock);
  const handler = watchHandler(svc, { log: pino({ level: "silent" }) }, { progressIntervalMs: 60_000, streamsPerClient: STREAMS_PER_CLIENT });
  server = new grpc.Server();
  const watch = { ...ConfigServiceService.watch, responseSerialize: (v: WatchWire) => (Buffer.isBuffer(v) ? v : Buffer.from(WatchResponse.encode(v).finish())) };
  server.addService({ watch } as unknown as grpc.ServiceDefinition, {
    watch: (call: grpc.ServerWritableStream<WatchRequest, WatchWire>) => {
      calls.push(call);
      const wrote: WatchWire[] = [];
      writes.push(wrote);
      const write = call.write.bind(call) as (chunk: WatchWire) => boolean;
      // Counts, and passes through: the real write decides.
      call.write = ((chunk: WatchWire) => {
        wrote.push(chunk);
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
  writes.length = 0;
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

describe("Watch responses on many streams", () => {
  const eventsOf = (i: number): Buffer[] =>
    writes[i]!.filter((w): w is Buffer => Buffer.isBuffer(w) && WatchResponse.decode(w).status === WatchStatus.WATCH_STATUS_EVENTS);

  it("a live event is encoded once and the same bytes go to every stream that sends it", async () => {
    const streams = [
      client.watch({ key: "k", prefix: false, startRevision: 0 }),
      client.watch({ key: "k", prefix: false, startRevision: 0 }),
      client.watch({ key: "k", prefix: true, startRevision: 0 }),
      client.watch({ key: "k", prefix: false, startRevision: 0 }),
    ];
    const seen = streams.map(() => [] as WatchResponse[]);
    streams.forEach((s, i) => {
      s.on("data", (r: WatchResponse) => r.status === WatchStatus.WATCH_STATUS_EVENTS && seen[i]!.push(r));
      s.on("error", () => {});
    });
    await until("every stream opened", () => calls.length === 4 && writes.every((w) => w.length > 0));
    const first = await svc.set({ key: "k", value: { n: 1 } });
    await until("every stream got the event", () => seen.every((x) => x.length === 1));
    const sent = [0, 1, 2, 3].map(eventsOf);
    for (const s of sent) {
      expect(s).toHaveLength(1);
      // One Buffer, not four equal ones.
      expect(s[0]).toBe(sent[0]![0]);
    }
    for (const got of seen) {
      expect(got[0]!.header?.revision).toBe(first.revision);
      expect(got[0]!.events.map((e) => [e.key, e.revision, e.value])).toEqual([["k", first.revision, { n: 1 }]]);
    }

    // A later event is a new response: new records, and a header at the new head.
    const second = await svc.set({ key: "k", value: { n: 2 } });
    await until("every stream got the second event", () => seen.every((x) => x.length === 2));
    const again = [0, 1, 2, 3].map(eventsOf);
    for (const s of again) expect(s[1]).toBe(again[0]![1]);
    expect(again[0]![1]).not.toBe(again[0]![0]);
    for (const got of seen) expect([got[1]!.header?.revision, got[1]!.events[0]!.revision, got[1]!.events[0]!.value]).toEqual([second.revision, second.revision, { n: 2 }]);
    for (const s of streams) s.cancel();
  });

  it("a stream that replays from the log gets its own response, and the live ones share theirs", async () => {
    const a = await svc.set({ key: "r", value: 1 });
    const b = await svc.set({ key: "r", value: 2 });
    const live = client.watch({ key: "r", prefix: false, startRevision: 0 });
    const replay = client.watch({ key: "r", prefix: false, startRevision: a.revision });
    const got: WatchResponse[][] = [[], []];
    [live, replay].forEach((s, i) => {
      s.on("data", (r: WatchResponse) => r.status === WatchStatus.WATCH_STATUS_EVENTS && got[i]!.push(...[r]));
      s.on("error", () => {});
    });
    await until("the replay delivered the past", () => got[1]!.flatMap((r) => r.events).length === 2);
    expect(got[1]!.flatMap((r) => r.events.map((e) => e.value))).toEqual([1, 2]);
    expect(got[1]![0]!.events[0]!.revision).toBe(a.revision);
    const c = await svc.set({ key: "r", value: 3 });
    await until("both streams got the live event", () => got.every((x) => x.flatMap((r) => r.events).some((e) => e.revision === c.revision)));
    expect(got[0]!.flatMap((r) => r.events.map((e) => e.revision))).toEqual([c.revision]);
    expect(got[1]!.flatMap((r) => r.events.map((e) => e.revision))).toEqual([a.revision, b.revision, c.revision]);
    live.cancel();
    replay.cancel();
  });
});

describe("Watch responses within a client's means", () => {
  const sizes = (i: number): number[] =>
    writes[i]!.filter((w): w is Buffer => Buffer.isBuffer(w) && WatchResponse.decode(w).status === WatchStatus.WATCH_STATUS_EVENTS).map((w) => w.length);

  it("a replay, and a slow stream's buffer, past WATCH_WIRE_BYTES go out in several responses, in order, none past it", async () => {
    const revs: number[] = [];
    for (let i = 0; i < 40; i++) revs.push((await svc.set({ key: "big", value: `${i}.${BIG}` })).revision);
    const stream = client.watch({ key: "big", prefix: false, startRevision: 1 });
    const got: number[] = [];
    stream.on("data", (r: WatchResponse) => got.push(...r.events.map((e) => e.revision)));
    stream.on("error", () => {});
    await until("the replay delivered", () => got.length === 40);
    expect(got).toEqual(revs);
    // 40 entries of 64 KiB: at least three responses, each within the limit.
    expect(sizes(0).length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...sizes(0))).toBeLessThanOrEqual(WATCH_WIRE_BYTES + 1024);

    // Live: the client stops reading while 40 more land; the watcher's buffer then goes out cut the same way.
    stream.pause();
    const before = sizes(0).length;
    for (let i = 0; i < 40; i++) revs.push((await svc.set({ key: "big", value: `live.${i}.${BIG}` })).revision);
    stream.resume();
    await until("the live events delivered", () => got.length === 80);
    expect(got).toEqual(revs);
    expect(sizes(0).length).toBeGreaterThan(before);
    expect(Math.max(...sizes(0))).toBeLessThanOrEqual(WATCH_WIRE_BYTES + 1024);
    stream.cancel();
  }, 60_000);

  it("a client past its streams is refused RESOURCE_EXHAUSTED, and a stream that ends frees its place", async () => {
    const streams = Array.from({ length: STREAMS_PER_CLIENT }, (_, i) => client.watch({ key: `s${i}`, prefix: false, startRevision: 0 }));
    for (const s of streams) s.on("error", () => {});
    await until("every stream opened", () => calls.length === STREAMS_PER_CLIENT && writes.every((w) => w.length > 0));
    const refusal = (): Promise<grpc.ServiceError | undefined> =>
      new Promise((resolve) => {
        const s = client.watch({ key: "one-more", prefix: false, startRevision: 0 });
        s.on("data", () => {
          s.cancel();
          resolve(undefined);
        });
        s.on("error", (e: grpc.ServiceError) => resolve(e.code === grpc.status.CANCELLED ? undefined : e));
      });
    const refused = await refusal();
    expect(refused?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused?.details).toContain(`holds ${STREAMS_PER_CLIENT} Watch streams already`);
    streams[0]!.cancel();
    let admitted = false;
    for (let i = 0; i < 200 && !admitted; i++) {
      admitted = (await refusal()) === undefined;
      if (!admitted) await sleep(10);
    }
    expect(admitted).toBe(true);
    for (const s of streams) s.cancel();
  });
});
