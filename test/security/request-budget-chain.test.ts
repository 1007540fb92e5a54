import * as grpc from "@grpc/grpc-js";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigServiceClient, ConfigServiceService, GetRequest, WatchRequest, type GetResponse } from "../../src/gen/ctm/v1/config_service.js";
import { callChain } from "../../src/transport/grpc/call-chain.js";
import { checkedService } from "../../src/transport/grpc/checked-service.js";
import { ClientBudget } from "../../src/transport/grpc/client-budget.js";

// Each request is about 60 bytes against a share of 100, and a client may have one call open: a
// call is let in only when the client has nothing else in flight, so a call that did not give
// its share, or its place, back refuses every later one.
const SHARE = 100;
const key = (what: string): string => what.padEnd(58, ".");

let server: grpc.Server;
let client: ConfigServiceClient;

beforeAll(async () => {
  server = new grpc.Server({ interceptors: [callChain({ log: pino({ level: "silent" }) }, new ClientBudget(SHARE), { perClient: new ClientBudget(1), arrivalMs: 0 })] });
  const handlers = {
    get: (call: grpc.ServerUnaryCall<GetRequest, GetResponse>, cb: grpc.sendUnaryData<GetResponse>) =>
      call.request.key.startsWith("fail") ? cb({ code: grpc.status.NOT_FOUND, details: "no" }) : cb(null, { header: undefined, entry: undefined, value: undefined, variant: "", reason: 0 } as unknown as GetResponse),
    watch: (call: grpc.ServerWritableStream<WatchRequest, unknown>) => {
      const k = call.request.key;
      if (k.startsWith("end")) call.end();
      else if (k.startsWith("error")) call.emit("error", { code: grpc.status.UNAVAILABLE, details: "bye" });
      // "hold": open until the client cancels.
    },
  };
  server.addService(...checkedService({ get: ConfigServiceService.get, watch: ConfigServiceService.watch } as unknown as grpc.ServiceDefinition, handlers as never, { lazy: true }));
  const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  client = new ConfigServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});
afterAll(() => {
  client?.close();
  server?.forceShutdown();
});

const get = (k: string): Promise<grpc.status> =>
  new Promise((resolve) => client.get(GetRequest.fromPartial({ key: key(k) }), (e) => resolve(e ? e.code : grpc.status.OK)));

const watch = (k: string, cancelAfterMs?: number): Promise<grpc.status> =>
  new Promise((resolve) => {
    const s = client.watch(WatchRequest.fromPartial({ key: key(k) }));
    s.on("data", () => undefined);
    s.on("error", (e: grpc.ServiceError) => resolve(e.code));
    s.on("status", (st: grpc.StatusObject) => resolve(st.code));
    if (cancelAfterMs !== undefined) setTimeout(() => s.cancel(), cancelAfterMs);
  });

describe("the chain's share of requests in flight and of open calls", () => {
  it("is given back by every way a call ends: success, error, a stream's end or error, a client's cancel", async () => {
    for (let i = 0; i < 10; i++) {
      expect(await get("ok")).toBe(grpc.status.OK);
      expect(await get("fail")).toBe(grpc.status.NOT_FOUND);
      expect(await watch("end")).toBe(grpc.status.OK);
      expect(await watch("error")).toBe(grpc.status.UNAVAILABLE);
      expect(await watch("hold", 20)).toBe(grpc.status.CANCELLED);
    }
  });

  it("refuses a call while the client's share is taken, before its handler runs", async () => {
    const held = client.watch(WatchRequest.fromPartial({ key: key("hold") }));
    held.on("error", () => undefined);
    // Let the stream reach the server first.
    await new Promise((r) => setTimeout(r, 100));
    expect(await get("ok")).toBe(grpc.status.RESOURCE_EXHAUSTED);
    held.cancel();
    let code: grpc.status = grpc.status.RESOURCE_EXHAUSTED;
    for (let i = 0; i < 100 && code !== grpc.status.OK; i++) {
      await new Promise((r) => setTimeout(r, 10));
      code = await get("ok");
    }
    expect(code).toBe(grpc.status.OK);
  });
});
