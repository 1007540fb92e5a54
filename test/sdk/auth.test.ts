/**
 * The TypeScript SDK's `token` and `tls` options against a real ctmd with `--auth on` (and, for
 * TLS, `--tls-cert`/`--tls-key`/`--tls-client-ca` with certificates made by openssl).
 */
import * as grpc from "@grpc/grpc-js";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CtmClient, CtmError } from "../../clients/ts/src/index.js";
import { Daemon } from "../helpers/daemon.js";
import { TestPki, type Issued } from "../helpers/test-pki.js";
import { client, defer, until } from "./helpers.js";

const AUTH_ON = ["--auth", "on", "--auth-failure-delay-max-ms", "0"];

async function daemon(args: string[] = AUTH_ON): Promise<Daemon> {
  const d = await Daemon.start({ args });
  defer(() => d.dispose());
  return d;
}

/** The first admin token, as ctmd wrote it (with its trailing newline: the SDK trims it). */
const adminToken = (d: Daemon): Promise<string> => readFile(join(d.dataDir, "admin.token"), "utf8");

/** The CtmError a promise rejects with. */
async function failure(p: Promise<unknown>): Promise<CtmError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CtmError) return e;
    throw e;
  }
  throw new Error("expected the call to fail");
}

/** Set, Get and a Watch that delivers the Set, through `c`. */
async function setGetWatch(c: CtmClient, key: string): Promise<void> {
  const w = c.watch(key, { startRevision: 0 });
  defer(() => w.close());
  // A watch from "now" is established before the write, so that the write is an event of it.
  const first = w.next();
  await until(() => w.connected, "the watch is established");
  const set = await c.set(key, { on: true }, { author: "sdk" });
  expect(set.entry).toMatchObject({ key, version: 1, value: { on: true } });
  expect(await c.get(key)).toMatchObject({ value: { on: true }, entry: { version: 1 } });
  const e = await first;
  expect(e.done).toBe(false);
  expect(e.value).toMatchObject({ key, revision: set.entry!.revision, value: { on: true } });
}

describe("CtmClient token against ctmd --auth on", () => {
  it("without a token every call, unary and Watch, fails UNAUTHENTICATED", async () => {
    const d = await daemon();
    const c = client(d.address);
    expect(await failure(c.get("app/flag"))).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(await failure(c.set("app/flag", 1))).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    // Watch ends with the error instead of resuming: a missing token is not a broken stream.
    const w = c.watch("app/", { prefix: true });
    expect(await failure(w.next())).toMatchObject({ code: grpc.status.UNAUTHENTICATED, method: "Watch" });
    // An empty token is no token.
    const empty = client(d.address, { token: "" });
    expect(await failure(empty.get("app/flag"))).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
  });

  it("a token ctmd does not know fails UNAUTHENTICATED", async () => {
    const d = await daemon();
    const c = client(d.address, { token: "ctm_0000000000000000_notarealsecretnotarealsecretnotarealsecret" });
    expect(await failure(c.get("app/flag"))).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
  });

  it("with the admin token: set, get and watch work, and the cache's snapshot and watch too", async () => {
    const d = await daemon();
    const token = await adminToken(d);
    expect(token).toMatch(/^ctm_\S+\n$/); // read as is: the trailing newline must not matter
    const c = client(d.address, { token, author: "sdk" });
    await setGetWatch(c, "app/flag");
    const h = await c.history("app/flag");
    expect(h.entries[0]).toMatchObject({ author: "sdk", principal: expect.stringMatching(/^token:/) as unknown });

    const cached = client(d.address, { token, cache: { prefix: "app/" } });
    await cached.ready({ timeoutMs: 20_000 });
    expect(cached.cache!.get("app/flag")?.value).toEqual({ on: true });
    await c.set("app/flag", { on: false });
    await until(() => (cached.cache!.get("app/flag")?.value as { on?: boolean } | undefined)?.on === false, "the cache's watch delivers the change");
    expect(cached.cache!.connected).toBe(true);
  });

  it("a caller's interceptors still run on every call, and never see the token", async () => {
    const d = await daemon();
    const seen: string[] = [];
    const spy: grpc.Interceptor = (options, next) =>
      new grpc.InterceptingCall(next(options), {
        start(md, listener, n) {
          seen.push(String(md.get("authorization")[0] ?? "none"));
          n(md, listener);
        },
      });
    const c = client(d.address, { token: await adminToken(d), interceptors: [spy] });
    await c.set("app/x", 1, { requestId: "req-auth-1" });
    expect(seen).toEqual(["none"]);
  });

  it("ctmd --auth off ignores the token", async () => {
    const d = await daemon([]);
    const c = client(d.address, { token: "ctm_0000000000000000_anything" });
    await setGetWatch(c, "app/flag");
  });

  it("refuses a token that cannot be a header value", async () => {
    expect(() => new CtmClient({ address: "127.0.0.1:1", token: "ctm_a b" })).toThrow(/printable ASCII/);
  });
});

describe("CtmClient tls against ctmd with TLS and mTLS", () => {
  let pki: TestPki;
  let ca: Issued;
  let server: Issued;
  let clientCert: Issued;
  let otherCa: Issued;
  beforeAll(async () => {
    pki = await TestPki.create();
    [ca, otherCa] = await Promise.all([pki.ca("ca"), pki.ca("other-ca")]);
    [server, clientCert] = await Promise.all([
      pki.leaf(ca, "server", { cn: "ctmd", sans: ["IP:127.0.0.1", "DNS:localhost"], usage: "server" }),
      pki.leaf(ca, "sdk-client", { cn: "sdk-client", usage: "client" }),
    ]);
  }, 120_000);
  afterAll(() => pki?.dispose());

  const tlsArgs = (mtls: boolean) => [...AUTH_ON, "--tls-cert", server.certFile, "--tls-key", server.keyFile, ...(mtls ? ["--tls-client-ca", ca.certFile] : [])];

  it("TLS with the CA's PEM and a token: set, get and watch; without the token UNAUTHENTICATED", async () => {
    const d = await daemon(tlsArgs(false));
    const token = await adminToken(d);
    await setGetWatch(client(d.address, { token, tls: { ca: ca.cert } }), "tls/flag");
    // PEM as a string works the same.
    expect((await client(d.address, { token, tls: { ca: ca.cert.toString("utf8") } }).get("tls/flag")).value).toEqual({ on: true });
    expect(await failure(client(d.address, { tls: { ca: ca.cert } }).get("tls/flag"))).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    // A CA that did not sign ctmd's certificate: no connection at all.
    const distrust = await failure(client(d.address, { token, tls: { ca: otherCa.cert }, retry: { maxAttempts: 1 } }).get("tls/flag"));
    expect(distrust.code).toBe(grpc.status.UNAVAILABLE);
  });

  it("mTLS: the client certificate is presented (its principal has no role: PERMISSION_DENIED), with the token it works", async () => {
    const d = await daemon(tlsArgs(true));
    const token = await adminToken(d);
    const tls = { ca: ca.cert, cert: clientCert.cert, key: clientCert.key };
    await setGetWatch(client(d.address, { token, tls }), "mtls/flag");
    // Authenticated by the certificate alone (cert:sdk-client), which no role grants anything.
    const certOnly = await failure(client(d.address, { tls }).get("mtls/flag"));
    expect(certOnly.code).toBe(grpc.status.PERMISSION_DENIED);
    // Without a client certificate the handshake is refused.
    const noCert = await failure(client(d.address, { token, tls: { ca: ca.cert }, retry: { maxAttempts: 1 } }).get("mtls/flag"));
    expect(noCert.code).toBe(grpc.status.UNAVAILABLE);
  });

  it("checks the PEM when the client is made", () => {
    const address = "127.0.0.1:1";
    expect(() => new CtmClient({ address, tls: { ca: "not a certificate" } })).toThrow(/tls\.ca holds no PEM certificate/);
    expect(() => new CtmClient({ address, tls: { ca: ca.cert, cert: clientCert.cert } })).toThrow(/tls\.cert and tls\.key go together/);
    expect(() => new CtmClient({ address, tls: { ca: ca.cert, cert: clientCert.cert, key: server.key } })).toThrow(/^CtmClient: tls: /);
    expect(() => new CtmClient({ address, tls: {}, credentials: grpc.credentials.createInsecure() })).toThrow(/not both/);
  });
});
