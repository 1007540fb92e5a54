import * as grpc from "@grpc/grpc-js";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../src/service/auth-service.js";
import { currentPrincipal } from "../../src/service/acting-principal.js";
import { RolloutService } from "../../src/service/rollout-service.js";
import { callChain } from "../../src/transport/grpc/call-chain.js";
import { checkedService } from "../../src/transport/grpc/checked-service.js";
import { tokenMetadata } from "../helpers/client.js";
import { tempStore, type TempStore } from "../helpers/temp-store.js";

// Raw bytes in and out: the chain must hold for a method however it was registered.
const raw = (path: string): grpc.MethodDefinition<Buffer, Buffer> => ({
  path,
  requestStream: false,
  responseStream: false,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
});
const asPrincipal: grpc.handleUnaryCall<Buffer, Buffer> = (_call, cb) => cb(null, Buffer.from(currentPrincipal() ?? "(none)"));

let ts: TempStore;
let server: grpc.Server;
let client: grpc.Client;
let token: string;

beforeAll(async () => {
  ts = await tempStore("call-chain");
  const auth = new AuthService(ts.store, ts.clock);
  auth.attach(ts.config);
  token = (await auth.bootstrap())!;
  const rollouts = new RolloutService(ts.store, ts.clock);
  server = new grpc.Server({ interceptors: [callChain({ log: pino({ level: "silent" }), auth: { service: auth, context: { rollouts, changes: { keysOf: () => [] } } } })] });
  // Registered straight on the server, around checkedService: one path has a rule, one has none.
  server.addService({ whoAmI: raw("/ctm.v1.AuthService/WhoAmI"), unruled: raw("/test.Unruled/Call") }, { whoAmI: asPrincipal, unruled: asPrincipal });
  const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  server?.forceShutdown();
  await ts?.dispose();
});

const call = (path: string, md: grpc.Metadata): Promise<{ code: grpc.status; details: string; body?: string }> =>
  new Promise((resolve) =>
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), md, { deadline: Date.now() + 10_000 }, (e, v) =>
      resolve(e ? { code: e.code, details: e.details } : { code: grpc.status.OK, details: "", body: v!.toString() }),
    ),
  );

describe("the call chain (a grpc-js server interceptor)", () => {
  it("authenticates every method and starts the handler as the caller's principal", async () => {
    expect(await call("/ctm.v1.AuthService/WhoAmI", tokenMetadata(token))).toEqual({ code: grpc.status.OK, details: "", body: "token:bootstrap-admin" });
    expect((await call("/ctm.v1.AuthService/WhoAmI", new grpc.Metadata())).code).toBe(grpc.status.UNAUTHENTICATED);
    // Nothing leaks to the next call: outside a handler's start, no one is acting.
    expect(currentPrincipal()).toBeUndefined();
  });

  it("refuses a method without an access rule, even to an admin, so no handler is reached around it", async () => {
    expect(await call("/test.Unruled/Call", tokenMetadata(token))).toEqual({ code: grpc.status.PERMISSION_DENIED, details: "this method has no access rule" });
    expect((await call("/test.Unruled/Call", new grpc.Metadata())).code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it("and a server is never built with such a method through checkedService", () => {
    expect(() => checkedService({ unruled: raw("/test.Unruled/Call") }, { unruled: asPrincipal })).toThrow("/test.Unruled/Call has no access rule");
  });
});
