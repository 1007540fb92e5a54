import { spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as http from "node:http";
import * as https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./prometheus.js";
import { TestPki, type Issued } from "./test-pki.js";

/** Debian's etcd-server puts the server here. */
export const ETCD_BIN = process.env.ETCD_BIN ?? "/usr/bin/etcd";

export interface EtcdMember {
  readonly name: string;
  /** host:port of its client (gRPC) listener. */
  readonly endpoint: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  child: ChildProcess | undefined;
}

export interface EtcdClusterOptions {
  /**
   * Client TLS: members serve https with a certificate from a PKI under the cluster's directory
   * (peers stay plain http); with clientCertAuth they also demand a client certificate its CA signed.
   */
  tls?: { clientCertAuth?: boolean };
  /** etcd's auth, turned on once the members are up. */
  auth?: EtcdAuth;
  /** etcd's --log-level; "warn" shows rejected tokens and connections in `log(i)`. */
  logLevel?: "debug" | "info" | "warn" | "error";
}

export interface EtcdAuth {
  /** Besides root: each user gets a role of its own name that may read and write its prefix and nothing else. */
  users: readonly { name: string; password: string; prefix: string }[];
  /**
   * etcd's --auth-token. A simple token lives while it is used and dies ttlSeconds after its
   * last use; a jwt (ES256, keys made here) dies ttlSeconds after it was issued, used or not.
   */
  token?: { kind: "simple" | "jwt"; ttlSeconds?: number };
}

/** The certificates of a TLS cluster: clients trust `ca`; `client` passes its client-certificate check. */
export interface EtcdTls {
  readonly pki: TestPki;
  readonly ca: Issued;
  readonly server: Issued;
  readonly client: Issued;
}

/**
 * A real etcd cluster of `size` members on free loopback ports, each with its own data
 * directory under one temporary directory (its PKI and token keys too). `stop()` kills every
 * member by PID and removes the directory; `kill(i)` and `restart(i)` take one member down and
 * bring it back.
 */
export class EtcdCluster {
  private stderr = new Map<string, string>();
  private readonly rootPassword = randomBytes(12).toString("hex");
  private tokenArgs: string[] = [];

  private constructor(
    readonly dir: string,
    readonly members: EtcdMember[],
    private readonly opts: EtcdClusterOptions,
    readonly tls: EtcdTls | undefined,
  ) {}

  static async start(size = 3, opts: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    // A free port is only free until another test file's process binds it: start again on new
    // ports when a member lost that race.
    for (let attempt = 1; ; attempt++) {
      try {
        return await EtcdCluster.startOnce(size, opts);
      } catch (e) {
        if (attempt >= 3 || !String(e instanceof Error ? e.message : e).includes("address already in use")) throw e;
      }
    }
  }

  private static async startOnce(size: number, opts: EtcdClusterOptions): Promise<EtcdCluster> {
    const dir = await mkdtemp(join(tmpdir(), "ctm-etcd-"));
    let cluster: EtcdCluster | undefined;
    try {
      const tls = opts.tls ? await makeTls(dir) : undefined;
      const scheme = tls ? "https" : "http";
      const members: EtcdMember[] = [];
      for (let i = 0; i < size; i++) {
        const client = await freePort();
        const peer = await freePort();
        members.push({ name: `m${i}`, endpoint: `127.0.0.1:${client}`, clientUrl: `${scheme}://127.0.0.1:${client}`, peerUrl: `http://127.0.0.1:${peer}`, child: undefined });
      }
      cluster = new EtcdCluster(dir, members, opts, tls);
      if (opts.auth?.token) cluster.tokenArgs = await tokenArgs(dir, opts.auth.token);
      for (let i = 0; i < size; i++) cluster.spawn(i, "new");
      await Promise.all(members.map((_, i) => cluster!.waitHealthy(i)));
      if (opts.auth) await cluster.enableAuth(opts.auth);
    } catch (e) {
      if (cluster) await cluster.stop();
      else await rm(dir, { recursive: true, force: true });
      throw e;
    }
    return cluster;
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.endpoint);
  }

  /** The last 64 KiB member i wrote to stderr (etcd's JSON log lines). */
  log(i: number): string {
    return this.stderr.get(this.members[i]!.name) ?? "";
  }

  /**
   * One call to etcd's JSON gateway (`/v3/auth/user/add` and the like) on member 0, as root when
   * auth is on. etcd 3.4 refuses gateway calls under auth when it also checks client certificates.
   */
  async admin(path: string, body: object): Promise<Record<string, unknown>> {
    let token: string | undefined;
    if (this.opts.auth) token = String((await this.admin0("/v3/auth/authenticate", { name: "root", password: this.rootPassword })).token);
    return this.admin0(path, body, token);
  }

  /** SIGKILLs member i. */
  async kill(i: number): Promise<void> {
    const child = this.members[i]!.child;
    this.members[i]!.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    }
  }

  /** Starts member i again on its data directory and waits until it is healthy. */
  async restart(i: number): Promise<void> {
    this.spawn(i, "existing");
    await this.waitHealthy(i);
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.kill(i)));
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Root (etcd wants it before auth goes on), then each user with its own role on its prefix. */
  private async enableAuth(auth: EtcdAuth): Promise<void> {
    const b64 = (b: Buffer): string => b.toString("base64");
    await this.admin0("/v3/auth/user/add", { name: "root", password: this.rootPassword });
    await this.admin0("/v3/auth/role/add", { name: "root" });
    await this.admin0("/v3/auth/user/grant", { user: "root", role: "root" });
    for (const u of auth.users) {
      const key = Buffer.from(u.prefix, "utf8");
      const end = Buffer.from(key);
      end[end.length - 1]!++;
      await this.admin0("/v3/auth/user/add", { name: u.name, password: u.password });
      await this.admin0("/v3/auth/role/add", { name: u.name });
      await this.admin0("/v3/auth/role/grant", { name: u.name, perm: { permType: "READWRITE", key: b64(key), range_end: b64(end) } });
      await this.admin0("/v3/auth/user/grant", { user: u.name, role: u.name });
    }
    await this.admin0("/v3/auth/enable", {});
  }

  private async admin0(path: string, body: object, token?: string): Promise<Record<string, unknown>> {
    const res = await this.request(0, path, body, token);
    if (res.status !== 200) throw new Error(`etcd ${path}: ${res.status} ${JSON.stringify(res.json)}`);
    return res.json;
  }

  /**
   * Calls to etcd's KV service (Range, Txn, Put, DeleteRange, Compact) the members have begun,
   * from their own metrics: what clients cost etcd, counted where the calls are served.
   */
  async kvCalls(): Promise<number> {
    let n = 0;
    for (let i = 0; i < this.members.length; i++) {
      const { text } = await this.requestText(i, "/metrics");
      for (const [, v] of text.matchAll(/^grpc_server_started_total\{[^}]*grpc_service="etcdserverpb\.KV"[^}]*\} (\d+)$/gm)) n += Number(v);
    }
    return n;
  }

  /** One request to member i's HTTP face, with a JSON answer. */
  private async request(i: number, path: string, body?: object, token?: string): Promise<{ status: number; json: Record<string, unknown> }> {
    const { status, text } = await this.requestText(i, path, body, token);
    return { status, json: JSON.parse(text) as Record<string, unknown> };
  }

  /** One request to member i's HTTP face, over TLS (with the client certificate) when the cluster has it. */
  private requestText(i: number, path: string, body?: object, token?: string): Promise<{ status: number; text: string }> {
    const url = new URL(path, this.members[i]!.clientUrl);
    const t = this.tls;
    return new Promise((resolve, reject) => {
      const req = (url.protocol === "https:" ? https : http).request(
        url,
        {
          method: body ? "POST" : "GET",
          headers: { "content-type": "application/json", ...(token ? { authorization: token } : {}) },
          timeout: 5_000,
          ...(t ? { ca: t.ca.cert, cert: t.client.cert, key: t.client.key } : {}),
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on("error", reject);
      req.on("timeout", () => req.destroy(new Error(`etcd ${path}: no answer`)));
      req.end(body ? JSON.stringify(body) : undefined);
    });
  }

  private spawn(i: number, state: "new" | "existing"): void {
    const m = this.members[i]!;
    const initial = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(",");
    const t = this.tls;
    const child = spawn(ETCD_BIN, [
      "--name", m.name,
      "--data-dir", join(this.dir, m.name),
      "--listen-client-urls", m.clientUrl,
      "--advertise-client-urls", m.clientUrl,
      "--listen-peer-urls", m.peerUrl,
      "--initial-advertise-peer-urls", m.peerUrl,
      "--initial-cluster", initial,
      "--initial-cluster-state", state,
      "--initial-cluster-token", `ctm-test-${this.dir}`,
      "--logger", "zap",
      "--log-level", this.opts.logLevel ?? "error",
      ...(t ? ["--cert-file", t.server.certFile, "--key-file", t.server.keyFile] : []),
      ...(t && this.opts.tls?.clientCertAuth ? ["--client-cert-auth", "--trusted-ca-file", t.ca.certFile] : []),
      ...this.tokenArgs,
    ], { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr!.on("data", (chunk: Buffer) => this.stderr.set(m.name, ((this.stderr.get(m.name) ?? "") + chunk.toString()).slice(-65_536)));
    m.child = child;
  }

  private async waitHealthy(i: number, timeoutMs = 30_000): Promise<void> {
    const m = this.members[i]!;
    const deadline = Date.now() + timeoutMs;
    const tail = (): string => this.log(i).slice(-4000);
    for (;;) {
      if (m.child?.exitCode != null) throw new Error(`etcd ${m.name} exited with ${m.child.exitCode}:\n${tail()}`);
      try {
        if ((await this.request(i, "/health")).json.health === "true") return;
      } catch {
        // Not up yet.
      }
      if (Date.now() > deadline) throw new Error(`etcd ${m.name} not healthy after ${timeoutMs} ms:\n${tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** One CA; the members' certificate (etcd dials its own gateway with it, hence both usages) and a client's. */
async function makeTls(dir: string): Promise<EtcdTls> {
  const pki = await TestPki.create(dir);
  const ca = await pki.ca("etcd-ca");
  const [server, client] = await Promise.all([
    pki.leaf(ca, "etcd-server", { cn: "etcd", sans: ["IP:127.0.0.1", "DNS:localhost"], usage: "both" }),
    pki.leaf(ca, "etcd-client", { cn: "etcd-test-client", usage: "client" }),
  ]);
  return { pki, ca, server, client };
}

async function tokenArgs(dir: string, token: NonNullable<EtcdAuth["token"]>): Promise<string[]> {
  if (token.kind === "simple") return ["--auth-token", "simple", ...(token.ttlSeconds ? ["--auth-token-ttl", String(token.ttlSeconds)] : [])];
  const keys = generateKeyPairSync("ec", { namedCurve: "P-256", privateKeyEncoding: { type: "sec1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
  const priv = join(dir, "jwt-key.pem");
  const pub = join(dir, "jwt-pub.pem");
  await writeFile(priv, keys.privateKey, { mode: 0o600 });
  await writeFile(pub, keys.publicKey);
  return ["--auth-token", `jwt,pub-key=${pub},priv-key=${priv},sign-method=ES256${token.ttlSeconds ? `,ttl=${token.ttlSeconds}s` : ""}`];
}
