import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EtcdClient } from "../../src/storage/etcd/etcd-client.js";
import { api, rejects, type Client } from "../helpers/client.js";
import { runDaemonToExit } from "../helpers/daemon.js";
import { EtcdCluster } from "../helpers/etcd-cluster.js";
import { EtcdReplicas } from "../helpers/etcd-replicas.js";
import { WatchStream } from "../helpers/watch-stream.js";

// Real etcd members that serve only TLS, or want a user, or both, and real ctmd replicas on them.
let mtls: EtcdCluster;
let authed: EtcdCluster;
let jwt: EtcdCluster;
const PASSWORD: string = randomUUID();
const opened: EtcdReplicas[] = [];

beforeAll(async () => {
  const users = [{ name: "ctm", password: PASSWORD, prefix: "/ctm/" }];
  // Settled, not raced: a cluster that did start is stopped after the file even if another did not.
  const started = await Promise.allSettled([
    EtcdCluster.start(3, { tls: { clientCertAuth: true } }).then((c) => (mtls = c)),
    // Simple tokens that die after 2 s unused; warn shows etcd refusing one in its log.
    EtcdCluster.start(1, { tls: {}, auth: { users, token: { kind: "simple", ttlSeconds: 2 } }, logLevel: "warn" }).then((c) => (authed = c)),
    // A jwt lives 5 minutes, used or not: only an auth change can make etcd refuse it here.
    EtcdCluster.start(1, { auth: { users, token: { kind: "jwt" } }, logLevel: "warn" }).then((c) => (jwt = c)),
  ]);
  for (const r of started) if (r.status === "rejected") throw r.reason;
}, 90_000);

afterAll(async () => {
  for (const o of opened) await o.stop();
  await Promise.all([mtls, authed, jwt].map((c) => c?.stop()));
});

const fresh = (): string => `/ctm/${randomUUID()}/`;
const tlsFlags = (c: EtcdCluster): string[] => ["--etcd-ca", c.tls!.ca.certFile, "--etcd-cert", c.tls!.client.certFile, "--etcd-key", c.tls!.client.keyFile];

async function passwordFile(c: EtcdCluster, password: string): Promise<string> {
  const file = join(c.dir, `password-${randomUUID()}`);
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return file;
}

async function userFlags(c: EtcdCluster, password = PASSWORD): Promise<string[]> {
  return ["--etcd-user", "ctm", "--etcd-password-file", await passwordFile(c, password)];
}

/** `n` replicas on one prefix, stopped after the file. */
async function replicas(c: EtcdCluster, n: number, flags: string[], prefix = fresh()): Promise<EtcdReplicas> {
  const o = await EtcdReplicas.start(n, { cluster: c, prefix, args: flags });
  opened.push(o);
  return o;
}

/** A start that must be refused: its exit code and stderr (its data directory is in the cluster's). */
function refused(c: EtcdCluster, flags: string[], prefix = fresh()) {
  const dataDir = join(c.dir, `refused-${randomUUID()}`);
  return runDaemonToExit(["--store", "etcd", "--etcd-endpoints", c.endpoints.join(","), "--etcd-prefix", prefix, ...flags, "--listen", "127.0.0.1:0", "--metrics-listen", "off", "--http-listen", "off", "--data-dir", dataDir]);
}

/** Refused with exit 1 and one line that says why, not a stack. */
function expectRefusal(out: { code: number | null; stderr: string }, why: RegExp): void {
  expect(out.code, out.stderr).toBe(1);
  expect(out.stderr).toMatch(why);
  expect(out.stderr).not.toMatch(/^\s+at /m);
}

/** Writes through each replica in turn: the other reads each at once, and a Watch on the second sees all, in order. */
async function servesAcross([a, b]: Client[]): Promise<void> {
  const first = (await api(a!).set({ key: "s/0", value: 0 })).entry!.revision;
  const w = new WatchStream(b!, { key: "s/", prefix: true, startRevision: first });
  try {
    const made = [first];
    for (let i = 1; i <= 10; i++) {
      const r = await api([a, b][i % 2]!).set({ key: `s/${i}`, value: { i } });
      made.push(r.entry!.revision);
      const g = await api([a, b][(i + 1) % 2]!).get({ key: `s/${i}`, consistent: true });
      expect(g.entry).toMatchObject({ revision: r.entry!.revision, value: { i } });
    }
    await w.until(() => w.events.length >= made.length);
    expect(w.events.map((e) => e.revision)).toEqual(made);
  } finally {
    w.cancel();
  }
}

describe("ctmd on etcd that serves only TLS and checks client certificates", () => {
  it("Set, Get and Watch work across two replicas with --etcd-ca, --etcd-cert and --etcd-key", async () => {
    const r = await replicas(mtls, 2, tlsFlags(mtls));
    await servesAcross(r.clients);
    // Members reached by IP address get no IP as TLS server name, so Node has nothing to warn about.
    expect(mtls.endpoints[0]).toMatch(/^(https:\/\/)?127\.0\.0\.1:/);
    for (const d of r.daemons) expect(d.stderr).not.toMatch(/DEP0123|TLS ServerName to an IP/);
  });

  it("without the CA, with another CA, or without a client certificate, the start is refused with the reason", async () => {
    const [ca, cert, key] = [mtls.tls!.ca.certFile, mtls.tls!.client.certFile, mtls.tls!.client.keyFile];
    const other = await mtls.tls!.pki.ca("other-ca");
    const [plain, wrongCa, noCert] = await Promise.all([
      refused(mtls, []),
      refused(mtls, ["--etcd-ca", other.certFile, "--etcd-cert", cert, "--etcd-key", key]),
      refused(mtls, ["--etcd-ca", ca]),
    ]);
    const where = `could not read the ctm log from etcd at ${mtls.endpoints.join(",")}: `.replace(/\./g, "\\.");
    expectRefusal(plain, new RegExp(`${where}.*no plaintext gRPC answered: if its client URLs are https, pass its CA with --etcd-ca`));
    expect(wrongCa.stderr).not.toMatch(/DEP0123/);
    expectRefusal(wrongCa, new RegExp(`${where}.*etcd's TLS certificate did not verify \\(.*\\): --etcd-ca must be the CA that signed`));
    expectRefusal(noCert, new RegExp(`${where}.*etcd refused this client's TLS handshake \\((bad certificate|certificate required)\\)`));
  });
});

describe("ctmd as an etcd user whose role covers only the ctm prefix, over TLS", () => {
  it("reads, writes and watches across two replicas, while etcd keeps that user out of every other key", async () => {
    await servesAcross((await replicas(authed, 2, ["--etcd-ca", authed.tls!.ca.certFile, ...(await userFlags(authed))])).clients);
    // The role is as narrow as the helper says: the same user may read the prefix and nothing else.
    const etcd = new EtcdClient({ endpoints: authed.endpoints, ca: authed.tls!.ca.cert, user: "ctm", password: PASSWORD });
    try {
      await etcd.range({ key: Buffer.from("/ctm/") });
      const e = await rejects(etcd.range({ key: Buffer.from("/elsewhere") }));
      expect(e.code).toBe(7);
    } finally {
      etcd.close();
    }
  });

  it("a wrong password, no user, or a prefix the role does not cover refuses the start with the reason", async () => {
    const ca = ["--etcd-ca", authed.tls!.ca.certFile];
    const [wrong, none, outside] = await Promise.all([
      refused(authed, [...ca, ...(await userFlags(authed, "not-the-password"))]),
      refused(authed, ca),
      refused(authed, [...ca, ...(await userFlags(authed))], "/other/"),
    ]);
    expectRefusal(wrong, /etcd did not authenticate user "ctm" \(etcdserver: authentication failed, invalid user ID or password\): check --etcd-user and --etcd-password-file/);
    expectRefusal(none, /etcd has auth on and this client gave no user .*: pass --etcd-user and --etcd-password-file/);
    expectRefusal(outside, /etcd denied user "ctm" a key \(etcdserver: permission denied\): its role needs readwrite on every key under the prefix/);
  });

  it("writes go on after etcd let the replica's token die", async () => {
    const { daemons, clients } = await replicas(authed, 1, ["--etcd-ca", authed.tls!.ca.certFile, ...(await userFlags(authed))]);
    await api(clients[0]!).set({ key: "t", value: 1 });
    const refusals = (): number => authed.log(0).match(/invalid auth token/g)?.length ?? 0;
    const before = refusals();
    // The replica reads etcd every second, which keeps a simple token alive: paused, it does not,
    // and etcd drops the token 2 s after its last use (checking once a second).
    daemons[0]!.signal("SIGSTOP");
    try {
      await new Promise((r) => setTimeout(r, 4500));
    } finally {
      daemons[0]!.signal("SIGCONT");
    }
    const second = await api(clients[0]!).set({ key: "t", value: 2 });
    expect(second.entry!.version).toBe(2);
    expect((await api(clients[0]!).get({ key: "t", consistent: true })).entry!.value).toBe(2);
    // etcd did refuse the old token: the write above went through on a new one.
    expect(refusals()).toBeGreaterThan(before);
  });
});

describe("ctmd as an etcd user with jwt tokens", () => {
  it("writes go on after an auth change in etcd made the replica's token old", async () => {
    const { clients } = await replicas(jwt, 1, await userFlags(jwt));
    await api(clients[0]!).set({ key: "j", value: 1 });
    // Any change to users or roles raises etcd's auth revision; a jwt carries the one it was issued at.
    const old = (): number => jwt.log(0).match(/revision in header is old/g)?.length ?? 0;
    const before = old();
    await jwt.admin("/v3/auth/user/add", { name: `someone-${randomUUID()}`, password: randomUUID() });
    expect((await api(clients[0]!).set({ key: "j", value: 2 })).entry!.version).toBe(2);
    expect((await api(clients[0]!).get({ key: "j", consistent: true })).entry!.value).toBe(2);
    // etcd did refuse the token it had issued: the write above went through on a new one.
    expect(old()).toBeGreaterThan(before);
  });
});
