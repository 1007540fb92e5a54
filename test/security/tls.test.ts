import * as grpc from "@grpc/grpc-js";
import { copyFile, rename, writeFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { connect as tlsConnect, type PeerCertificate } from "node:tls";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ServerTls } from "../../src/transport/tls/server-tls.js";
import { peerPrincipal } from "../../src/transport/tls/peer-principal.js";
import { ctm } from "../cli/run-ctm.js";
import { api, connect, rejects, type Client } from "../helpers/client.js";
import { Daemon, runDaemonToExit, type DaemonExit } from "../helpers/daemon.js";
import { TestPki, type Issued } from "../helpers/test-pki.js";
import { WatchStream } from "../helpers/watch-stream.js";

let pki: TestPki;
let ca: Issued;
let server: Issued;
let client: Issued;
/** A client certificate without a CN: its principal comes from the first DNS/URI SAN. */
let sanClient: Issued;
let rogueCa: Issued;
/** Same CN as `client`, signed by a CA ctmd does not trust. */
let rogueClient: Issued;

const cleanups: (() => unknown)[] = [];
const later = <T extends { close(): void } | { dispose(): Promise<void> }>(x: T): T => {
  cleanups.push(() => ("dispose" in x ? x.dispose() : x.close()));
  return x;
};

beforeAll(async () => {
  pki = await TestPki.create();
  [ca, rogueCa] = await Promise.all([pki.ca("ca"), pki.ca("rogue-ca")]);
  [server, client, sanClient, rogueClient] = await Promise.all([
    pki.leaf(ca, "server", { cn: "ctmd", sans: ["IP:127.0.0.1", "DNS:localhost"], usage: "server" }),
    pki.leaf(ca, "client", { cn: "client-a", usage: "client" }),
    pki.leaf(ca, "san-client", { sans: ["URI:spiffe://ctm.test/reader", "DNS:reader.ctm.test"], usage: "client" }),
    pki.leaf(rogueCa, "rogue-client", { cn: "client-a", usage: "client" }),
  ]);
}, 120_000);
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => pki?.dispose());

const sslCreds = (o: { ca?: Issued; cert?: Issued } = {}) => grpc.credentials.createSsl(o.ca?.cert ?? null, o.cert?.key ?? null, o.cert?.cert ?? null);
const tlsClient = (address: string, o: { ca?: Issued; cert?: Issued } = {}): Client => later(connect(address, sslCreds(o)));

const tlsArgs = (cert = server, extra: string[] = []) => ["--tls-cert", cert.certFile, "--tls-key", cert.keyFile, ...extra];

const metricsAddress = (d: Daemon): string => String(d.logs.find((l) => l.msg === "listening")!.metrics);

const hostPort = (address: string): { host: string; port: number } => {
  const i = address.lastIndexOf(":");
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
};

/** GET /metrics over HTTPS; rejects when the handshake or the connection fails. */
function getMetrics(address: string, o: { ca?: Issued; cert?: Issued }): Promise<{ status: number; body: string; serial: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ ...hostPort(address), path: "/metrics", ca: o.ca?.cert, cert: o.cert?.cert, key: o.cert?.key, agent: false }, (res) => {
      const serial = (res.socket as unknown as { getPeerCertificate(): PeerCertificate }).getPeerCertificate().serialNumber;
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, serial }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** A new TLS connection's view of the server certificate (as a gRPC client would negotiate it). */
function peerCertificate(address: string, trust: Issued): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ ...hostPort(address), ca: trust.cert, ALPNProtocols: ["h2"] }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.on("error", reject);
  });
}

/** Resolves the first log record after index `from` with message `msg` (a liveness bound, not a speed assertion). */
async function untilLog(d: Daemon, msg: string, from: number, ms = 20_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const rec = d.logs.slice(from).find((l) => l.msg === msg);
    if (rec) return rec;
    if (Date.now() > deadline) throw new Error(`no "${msg}" log within ${ms} ms; got ${d.logs.slice(from).map((l) => l.msg).join(", ")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Writes a file the way a deploy tool should: whole, then renamed into place. */
async function replace(file: string, bytes: Buffer | string): Promise<void> {
  await writeFile(`${file}.tmp`, bytes);
  await rename(`${file}.tmp`, file);
}

describe("TLS on the gRPC and /metrics ports (server certificate only)", () => {
  it("a client trusting the CA gets Set and Get answers; a plaintext client and one trusting another CA are refused", async () => {
    const d = later(await Daemon.start({ args: tlsArgs() }));
    const c = api(tlsClient(d.address, { ca }));
    await c.set({ key: "tls.k", value: { on: true }, author: "ana" });
    expect((await c.get({ key: "tls.k" })).entry).toMatchObject({ key: "tls.k", value: { on: true }, version: 1 });

    const plain = await rejects(api(later(connect(d.address))).get({ key: "tls.k" }));
    expect(plain.code).toBe(grpc.status.UNAVAILABLE);
    const untrusting = await rejects(api(tlsClient(d.address, { ca: rogueCa })).get({ key: "tls.k" }));
    expect(untrusting.code).toBe(grpc.status.UNAVAILABLE);
    // The daemon says it serves TLS, and with which certificate.
    expect(d.logs.find((l) => l.msg === "tls enabled")).toMatchObject({ serial: server.serial, clientAuth: "off" });
  });

  it("serves /metrics over HTTPS with the same certificate; plain HTTP gets no answer", async () => {
    const d = later(await Daemon.start({ args: tlsArgs() }));
    const m = await getMetrics(metricsAddress(d), { ca });
    expect(m.status).toBe(200);
    expect(m.body).toContain("ctm_head_revision");
    expect(m.serial).toBe(server.serial);
    const { host, port } = hostPort(metricsAddress(d));
    await expect(fetch(`http://${host}:${port}/metrics`)).rejects.toThrow();
  });

  it("SIGHUP swaps the certificate for new connections while an open Watch stream keeps delivering; a bad pair is refused and the previous one kept", async () => {
    // The daemon's own copies of the files, which this test replaces.
    const certFile = join(pki.dir, "rot.pem");
    const keyFile = join(pki.dir, "rot-key.pem");
    await copyFile(server.certFile, certFile);
    await copyFile(server.keyFile, keyFile);
    const d = later(await Daemon.start({ args: ["--tls-cert", certFile, "--tls-key", keyFile] }));
    const first = tlsClient(d.address, { ca });
    const c1 = api(first);
    const set1 = await c1.set({ key: "rot.k", value: 1 });
    const watch = new WatchStream(first, { key: "rot.k", startRevision: set1.entry!.revision + 1 });
    cleanups.push(() => watch.cancel());
    await watch.until(() => watch.responses.length >= 1);
    expect((await peerCertificate(d.address, ca)).serialNumber).toBe(server.serial);

    const next = await pki.leaf(ca, "server-2", { cn: "ctmd-2", sans: ["IP:127.0.0.1", "DNS:localhost"], usage: "server" });
    await replace(keyFile, next.key);
    await replace(certFile, next.cert);
    let mark = d.logs.length;
    d.signal("SIGHUP");
    expect(await untilLog(d, "tls reloaded", mark)).toMatchObject({ serial: next.serial, previousSerial: server.serial, subject: "CN=ctmd-2" });

    // New connections, on both ports, see the new certificate...
    const seen = await peerCertificate(d.address, ca);
    expect({ serial: seen.serialNumber, cn: seen.subject.CN }).toEqual({ serial: next.serial, cn: "ctmd-2" });
    expect((await getMetrics(metricsAddress(d), { ca })).serial).toBe(next.serial);
    // ...and the stream opened before the reload delivers a change written after it, by a new client.
    await api(tlsClient(d.address, { ca })).set({ key: "rot.k", value: 2 });
    await watch.until(() => watch.events.some((e) => e.value === 2));
    expect(watch.error).toBeUndefined();
    expect((await c1.get({ key: "rot.k" })).entry!.value).toBe(2);

    // A certificate whose key was not replaced with it: logged, and the previous pair stays.
    const third = await pki.leaf(ca, "server-3", { cn: "ctmd-3", sans: ["IP:127.0.0.1"], usage: "server" });
    await replace(certFile, third.cert);
    mark = d.logs.length;
    d.signal("SIGHUP");
    const failed = await untilLog(d, "tls reload failed; still serving the previous certificate", mark);
    expect(failed).toMatchObject({ level: 50, err: expect.stringMatching(/private key does not match the certificate/) });
    expect((await peerCertificate(d.address, ca)).serialNumber).toBe(next.serial);
    // Garbage in the file is refused the same way.
    await replace(certFile, "not a certificate\n");
    mark = d.logs.length;
    d.signal("SIGHUP");
    expect(await untilLog(d, "tls reload failed; still serving the previous certificate", mark)).toMatchObject({ err: expect.stringMatching(/no PEM certificate/) });
    await api(tlsClient(d.address, { ca })).set({ key: "rot.k", value: 3 });
    await watch.until(() => watch.events.some((e) => e.value === 3));
    expect(watch.error).toBeUndefined();
  });
});

describe("mTLS: --tls-client-ca", () => {
  it("require (the default): no client certificate or one from another CA is refused; the CA's certificate works", async () => {
    const d = later(await Daemon.start({ args: tlsArgs(server, ["--tls-client-ca", ca.certFile]) }));
    expect(d.logs.find((l) => l.msg === "tls enabled")).toMatchObject({ clientAuth: "require" });
    const noCert = await rejects(api(tlsClient(d.address, { ca })).get({ key: "m.k" }));
    expect(noCert.code).toBe(grpc.status.UNAVAILABLE);
    const rogue = await rejects(api(tlsClient(d.address, { ca, cert: rogueClient })).get({ key: "m.k" }));
    expect(rogue.code).toBe(grpc.status.UNAVAILABLE);
    const good = api(tlsClient(d.address, { ca, cert: client }));
    await good.set({ key: "m.k", value: "v" });
    expect((await good.get({ key: "m.k" })).entry!.value).toBe("v");

    // /metrics asks for the same client certificate.
    expect((await getMetrics(metricsAddress(d), { ca, cert: client })).status).toBe(200);
    await expect(getMetrics(metricsAddress(d), { ca })).rejects.toThrow();
  });

  it("optional: a client without a certificate is let in, as is one with the CA's certificate", async () => {
    const d = later(await Daemon.start({ args: tlsArgs(server, ["--tls-client-ca", ca.certFile, "--tls-client-auth", "optional"]) }));
    await api(tlsClient(d.address, { ca })).set({ key: "o.k", value: 1 });
    expect((await api(tlsClient(d.address, { ca, cert: client })).get({ key: "o.k" })).entry!.value).toBe(1);
    expect((await getMetrics(metricsAddress(d), { ca })).status).toBe(200);
  });
});

describe("peerPrincipal on real TLS connections", () => {
  const whoAmI = {
    whoAmI: {
      path: "/test.Principal/WhoAmI",
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (s: string) => Buffer.from(s),
      responseDeserialize: (b: Buffer) => b.toString(),
    },
  } satisfies grpc.ServiceDefinition;
  const Who = grpc.makeGenericClientConstructor(whoAmI, "Principal");

  /** A grpc-js server in this process whose one method answers peerPrincipal(call), "-" for undefined. */
  async function principalServer(creds: grpc.ServerCredentials): Promise<string> {
    const s = new grpc.Server();
    s.addService(whoAmI, { whoAmI: (call: grpc.ServerUnaryCall<Buffer, string>, cb: grpc.sendUnaryData<string>) => cb(null, peerPrincipal(call) ?? "-") });
    cleanups.push(() => s.forceShutdown());
    const port = await new Promise<number>((res, rej) => s.bindAsync("127.0.0.1:0", creds, (e, p) => (e ? rej(e) : res(p))));
    return `127.0.0.1:${port}`;
  }

  const ask = (address: string, creds: grpc.ChannelCredentials): Promise<string> => {
    const c = later(new Who(address, creds));
    return new Promise((res, rej) =>
      (c as unknown as { whoAmI(r: Buffer, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v: string) => void): void }).whoAmI(
        Buffer.alloc(0),
        { deadline: Date.now() + 30_000 },
        (e, v) => (e ? rej(e) : res(v)),
      ),
    );
  };

  it("is cert:<CN> for a verified client certificate, else its first DNS/URI SAN; undefined without a verified one", async () => {
    const tls = new ServerTls({ certFile: server.certFile, keyFile: server.keyFile, clientCaFile: ca.certFile, clientAuth: "optional" }, pino({ level: "silent" }));
    const address = await principalServer(tls.grpcCredentials);
    expect(await ask(address, sslCreds({ ca, cert: client }))).toBe("cert:client-a");
    expect(await ask(address, sslCreds({ ca, cert: sanClient }))).toBe("cert:spiffe://ctm.test/reader");
    // optional lets these in, but nothing verified them: no principal.
    expect(await ask(address, sslCreds({ ca }))).toBe("-");
    expect(await ask(address, sslCreds({ ca, cert: rogueClient }))).toBe("-");

    const plaintext = await principalServer(grpc.ServerCredentials.createInsecure());
    expect(await ask(plaintext, grpc.credentials.createInsecure())).toBe("-");
  });
});

describe("ctmd refuses TLS files it cannot use, with one line", () => {
  const expectRefusal = (r: DaemonExit, code: number, expected: RegExp): void => {
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code, stderr: expect.stringMatching(expected) });
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).not.toContain('"listening"');
  };
  const start = (args: string[], env: Record<string, string> = {}) =>
    runDaemonToExit(["--listen", "127.0.0.1:0", "--metrics-listen", "off", "--http-listen", "off", "--data-dir", join(pki.dir, "never-created"), ...args], { env });

  it("a certificate file that is not PEM: exit 1", async () => {
    const bad = join(pki.dir, "garbage.pem");
    await writeFile(bad, "not a certificate\n");
    expectRefusal(await start(["--tls-cert", bad, "--tls-key", server.keyFile]), 1, /^ctmd: cannot use TLS certificate \S+garbage\.pem: no PEM certificate in it$/m);
  });

  it("a key that is not the certificate's: exit 1", async () => {
    expectRefusal(await start(["--tls-cert", server.certFile, "--tls-key", client.keyFile]), 1, /^ctmd: cannot use TLS certificate \S+ with key \S+: the private key does not match the certificate$/m);
  });

  it("a missing key file or client CA that is not a certificate: exit 1", async () => {
    expectRefusal(await start(tlsArgs(server, []).map((a) => (a === server.keyFile ? join(pki.dir, "missing.pem") : a))), 1, /^ctmd: cannot read TLS key \S+missing\.pem: no such file$/m);
    expectRefusal(await start(tlsArgs(server, ["--tls-client-ca", server.keyFile])), 1, /^ctmd: cannot use TLS client CA \S+: no PEM certificate in it$/m);
  });

  it("usage: --tls-cert without --tls-key (flag or environment), --tls-client-ca without either, a bad mode: exit 2", async () => {
    expectRefusal(await start(["--tls-cert", server.certFile]), 2, /^ctmd: --tls-cert and --tls-key go together$/m);
    expectRefusal(await start([], { CTM_TLS_KEY: server.keyFile }), 2, /^ctmd: --tls-cert and --tls-key go together$/m);
    expectRefusal(await start(["--tls-client-ca", ca.certFile]), 2, /^ctmd: --tls-client-ca needs --tls-cert and --tls-key$/m);
    expectRefusal(await start([...tlsArgs(), "--tls-client-auth", "maybe"]), 2, /--tls-client-auth.*'maybe' is invalid/);
  });
});

describe("ctm's TLS flags", () => {
  it("--cacert (or CTM_CACERT) talks TLS to ctmd; without it the call is UNAVAILABLE", async () => {
    const d = later(await Daemon.start({ args: tlsArgs() }));
    await api(tlsClient(d.address, { ca })).set({ key: "cli.k", value: "from-tls" });
    const r = await ctm(d.address, ["--cacert", ca.certFile, "get", "cli.k"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toContain("from-tls");
    expect(await ctm(d.address, ["--json", "get", "cli.k"], { CTM_CACERT: ca.certFile })).toMatchObject({ code: 0, stdout: expect.stringContaining('"from-tls"') });
    const plain = await ctm(d.address, ["get", "cli.k"]);
    expect(plain.code).toBe(grpc.status.UNAVAILABLE);
    expect(plain.stderr).toMatch(/^ctm: UNAVAILABLE: /);
  });

  it("--cert and --cert-key answer ctmd's request for a client certificate; a half pair is exit 3", async () => {
    const d = later(await Daemon.start({ args: tlsArgs(server, ["--tls-client-ca", ca.certFile]) }));
    const withCert = ["--cacert", ca.certFile, "--cert", client.certFile, "--cert-key", client.keyFile];
    expect(await ctm(d.address, [...withCert, "set", "cli.m", "7"])).toMatchObject({ code: 0, stderr: "" });
    expect(await ctm(d.address, [...withCert, "get", "cli.m"])).toMatchObject({ code: 0, stdout: expect.stringContaining("7") });
    const noCert = await ctm(d.address, ["--cacert", ca.certFile, "get", "cli.m"]);
    expect(noCert.code).toBe(grpc.status.UNAVAILABLE);
    // One line, though OpenSSL's reason (here: certificate required) ends in a newline.
    expect(noCert.stderr).toMatch(/^ctm: UNAVAILABLE: [^\n]*\(ctmd at \S+\)\n$/);
    const half = await ctm(d.address, ["--cacert", ca.certFile, "--cert", client.certFile, "get", "cli.m"]);
    expect(half).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, stderr: "ctm: INVALID_ARGUMENT: --cert: needs --cert-key\n" });
    // A subcommand's own --key is still its own.
    expect(await ctm(d.address, [...withCert, "validator", "list", "--key", "cli.m"])).toMatchObject({ code: 0 });
  });
});

// With read workers, a worker verifies the certificate and forwards its principal to the primary.
describe.each([0, 2])("mTLS principals under --auth on, --workers %i", (workers) => {
  it("a verified client certificate is cert:<CN>; roles bind it by members; it writes as itself", async () => {
    const d = later(await Daemon.start({ args: tlsArgs(server, ["--tls-client-ca", ca.certFile, "--tls-client-auth", "optional", "--auth", "on", "--auth-failure-delay-max-ms", "0", "--workers", String(workers)]) }));
    const token = (await (await import("node:fs/promises")).readFile(join(d.dataDir, "admin.token"), "utf8")).trim();
    const { AuthServiceClient, Verb } = await import("../../src/gen/ctm/v1/auth_service.js");
    const { call, tokenMetadata } = await import("../helpers/client.js");
    const auth = later(new AuthServiceClient(d.address, sslCreds({ ca })));
    await call(auth.setRole.bind(auth), { role: { name: "certs", grants: [{ verbs: [Verb.VERB_READ, Verb.VERB_WRITE], keys: ["app/**"], environments: [] }], members: ["cert:client-a"], description: "" }, author: "", message: "", expectedVersion: undefined }, tokenMetadata(token));

    const withCert = api(tlsClient(d.address, { ca, cert: client }));
    const written = await withCert.set({ key: "app/k", value: 1, author: "whoever" });
    expect(written.entry).toMatchObject({ author: "whoever", principal: "cert:client-a" });
    expect((await rejects(withCert.set({ key: "other/k", value: 1 }))).details).toBe('cert:client-a may not write key "other/k"');
    // Without a certificate (optional mode lets the connection in) and without a token: unauthenticated.
    const anonymous = api(tlsClient(d.address, { ca }));
    expect((await rejects(anonymous.get({ key: "app/k" }))).code).toBe(grpc.status.UNAUTHENTICATED);
    // A certificate whose principal no role names authenticates, but is granted nothing.
    const san = api(tlsClient(d.address, { ca, cert: sanClient }));
    expect((await rejects(san.get({ key: "app/k" }))).details).toBe('cert:spiffe://ctm.test/reader may not read key "app/k"');
  });
});
