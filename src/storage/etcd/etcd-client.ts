import { isIP } from "node:net";
import { checkServerIdentity as checkIdentity, type PeerCertificate } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import {
  AuthClient,
  DeleteRangeRequest,
  type DeleteRangeResponse,
  KVClient,
  LeaseClient,
  LeaseGrantRequest,
  type LeaseGrantResponse,
  LeaseRevokeRequest,
  type LeaseRevokeResponse,
  RangeRequest,
  type RangeResponse,
  TxnRequest,
  type TxnResponse,
  WatchClient,
  type WatchRequest,
  type WatchResponse,
} from "../../gen/etcd/etcdserverpb/rpc.js";

/** How to reach an etcd cluster. */
export interface EtcdConnection {
  /** host:port (or http(s)://host:port) of each member's client listener. */
  readonly endpoints: readonly string[];
  /** PEM: the CA that signed the members' certificates; TLS is on when given. */
  readonly ca?: Buffer;
  /** PEM: this client's certificate and key, for members that check client certificates. */
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** etcd user and password (etcd's auth): the token they get is sent with every call. */
  readonly user?: string;
  readonly password?: string;
  /** Per-call deadline, ms. */
  readonly callTimeoutMs?: number;
}

type Unary<Req, Res> = (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (e: grpc.ServiceError | null, r?: Res) => void) => grpc.ClientUnaryCall;

interface Member {
  kv: InstanceType<typeof KVClient>;
  watch: InstanceType<typeof WatchClient>;
  lease: InstanceType<typeof LeaseClient>;
  auth: InstanceType<typeof AuthClient>;
}

/** The TLS name sent to a member addressed by IP: any name that is not an address (RFC 6066). */
const IP_MEMBER_SNI = "etcd-member.invalid";

/**
 * A member's credentials and channel options. grpc-js sends the target's host as the TLS server
 * name even when it is an IP address, which RFC 6066 forbids and Node warns about (DEP0123) on
 * every connection: such a member gets a placeholder name instead, and its certificate is still
 * checked against the address it was reached at (an IP SAN).
 */
function memberChannel(conn: EtcdConnection, target: string, base: grpc.ChannelOptions): { creds: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  if (!conn.ca && !conn.cert) return { creds: grpc.credentials.createInsecure(), options: base };
  const host = target.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  if (isIP(host) === 0) return { creds: grpc.credentials.createSsl(conn.ca ?? null, conn.key ?? null, conn.cert ?? null), options: base };
  const checkServerIdentity = (_name: string, cert: PeerCertificate) => checkIdentity(host, cert);
  return {
    creds: grpc.credentials.createSsl(conn.ca ?? null, conn.key ?? null, conn.cert ?? null, { checkServerIdentity }),
    options: { ...base, "grpc.ssl_target_name_override": IP_MEMBER_SNI },
  };
}

/** Codes after which the same call may go to another member: it never reached etcd's state machine or only read. */
const FAILOVER = new Set([grpc.status.UNAVAILABLE]);

/**
 * etcd's v3 gRPC API over grpc-js, with the generated stubs of the subset ctm calls. One channel
 * per member; a call that finds its member unavailable moves on to the next one. With a user,
 * the token from Authenticate goes with every call and is renewed when etcd says it expired.
 */
export class EtcdClient {
  private readonly members: Member[];
  private current = 0;
  private token: string | undefined;
  private authenticating: Promise<string> | undefined;
  private closed = false;

  constructor(private readonly conn: EtcdConnection) {
    if (conn.endpoints.length === 0) throw new Error("etcd: no endpoints");
    // Records can be large: etcd itself refuses requests over its own limit (1.5 MiB by default).
    const base = { "grpc.max_receive_message_length": 64 * 1024 * 1024, "grpc.keepalive_time_ms": 10_000, "grpc.keepalive_timeout_ms": 5_000 };
    this.members = conn.endpoints.map((e) => {
      const target = e.replace(/^https?:\/\//, "");
      const { creds, options } = memberChannel(conn, target, base);
      return {
        kv: new KVClient(target, creds, options),
        watch: new WatchClient(target, creds, options),
        lease: new LeaseClient(target, creds, options),
        auth: new AuthClient(target, creds, options),
      };
    });
  }

  range(req: Partial<RangeRequest>): Promise<RangeResponse> {
    return this.unary((m) => m.kv.range.bind(m.kv) as Unary<RangeRequest, RangeResponse>, RangeRequest.fromPartial(req), true);
  }

  /**
   * A transaction. It is not sent to another member after an UNAVAILABLE, since it may have
   * been applied: the caller finds out by reading (see EtcdLogStore's commit).
   */
  txn(req: Partial<TxnRequest>): Promise<TxnResponse> {
    return this.unary((m) => m.kv.txn.bind(m.kv) as Unary<TxnRequest, TxnResponse>, TxnRequest.fromPartial(req), false);
  }

  /** A transaction that only reads: like range, it is sent again to another member when one goes away. */
  readTxn(req: Partial<TxnRequest>): Promise<TxnResponse> {
    return this.unary((m) => m.kv.txn.bind(m.kv) as Unary<TxnRequest, TxnResponse>, TxnRequest.fromPartial(req), true);
  }

  deleteRange(req: Partial<DeleteRangeRequest>): Promise<DeleteRangeResponse> {
    return this.unary((m) => m.kv.deleteRange.bind(m.kv) as Unary<DeleteRangeRequest, DeleteRangeResponse>, DeleteRangeRequest.fromPartial(req), false);
  }

  /**
   * A lease of `ttlSeconds`, kept alive (a keep-alive every third of its TTL, over a stream that
   * moves to another member when its own goes away) until `release()` revokes it. `lost` is
   * called once when etcd says the lease is gone, or when no keep-alive was answered for a whole
   * TTL: etcd may have let it expire by then.
   */
  async lease(ttlSeconds: number, lost: () => void = () => undefined): Promise<{ id: bigint; release: () => Promise<void> }> {
    const granted = await this.unary((m) => m.lease.leaseGrant.bind(m.lease) as Unary<LeaseGrantRequest, LeaseGrantResponse>, LeaseGrantRequest.fromPartial({ TTL: BigInt(ttlSeconds) }), false);
    const id = granted.ID;
    let lastOk = Date.now();
    let gone = false;
    let released = false;
    const end = (): void => {
      if (gone || released) return;
      gone = true;
      lost();
    };
    let stream: grpc.ClientDuplexStream<{ ID: bigint }, { TTL: bigint }> | undefined;
    const open = async (): Promise<void> => {
      const s = this.members[this.current]!.lease.leaseKeepAlive(await this.metadata());
      stream = s;
      s.on("data", (r: { TTL: bigint }) => {
        if (r.TTL <= 0n) end();
        else lastOk = Date.now();
      });
      const broken = (): void => {
        if (stream !== s || released || gone) return;
        stream = undefined;
        this.failover();
      };
      s.on("error", broken);
      s.on("end", broken);
    };
    await open();
    const timer = setInterval(() => {
      if (Date.now() - lastOk > ttlSeconds * 1000) return end();
      if (stream) stream.write({ ID: id });
      else void open().catch(() => undefined);
    }, Math.max(100, (ttlSeconds * 1000) / 3));
    timer.unref();
    return {
      id,
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        stream?.cancel();
        await this.unary((m) => m.lease.leaseRevoke.bind(m.lease) as Unary<LeaseRevokeRequest, LeaseRevokeResponse>, LeaseRevokeRequest.fromPartial({ ID: id }), true).catch(() => undefined);
      },
    };
  }

  /** A Watch stream on the current member, with the token. */
  async watchStream(): Promise<grpc.ClientDuplexStream<WatchRequest, WatchResponse>> {
    const md = await this.metadata();
    return this.members[this.current]!.watch.watch(md);
  }

  /** Moves to the next member, after a stream of the current one failed. */
  failover(): void {
    this.current = (this.current + 1) % this.members.length;
  }

  close(): void {
    this.closed = true;
    for (const m of this.members) for (const c of [m.kv, m.watch, m.lease, m.auth]) c.close();
  }

  private async unary<Req, Res>(method: (m: Member) => Unary<Req, Res>, req: Req, idempotent: boolean, renewed = false): Promise<Res> {
    const tries = idempotent ? this.members.length : 1;
    let last: unknown;
    for (let i = 0; i < tries; i++) {
      if (this.closed) throw new Error("etcd client closed");
      const md = await this.metadata();
      const m = this.members[this.current]!;
      try {
        return await new Promise<Res>((resolve, reject) => {
          const deadline = Date.now() + (this.conn.callTimeoutMs ?? 10_000);
          method(m)(req, md, { deadline }, (e, r) => (e ? reject(e) : resolve(r!)));
        });
      } catch (e) {
        last = e;
        const err = e as grpc.ServiceError;
        if (this.conn.user && !renewed && tokenRefused(err)) {
          // A new token, once. Calls that failed with the same one renew it once between them.
          if (this.token === md.get("token")[0]) this.token = undefined;
          return this.unary(method, req, idempotent, true);
        }
        if (!FAILOVER.has(err.code)) throw explained(e, this.conn);
        this.failover();
      }
    }
    throw explained(last, this.conn);
  }

  private async metadata(): Promise<grpc.Metadata> {
    const md = new grpc.Metadata();
    if (this.conn.user) md.set("token", await this.authToken());
    return md;
  }

  private authToken(): Promise<string> {
    if (this.token) return Promise.resolve(this.token);
    this.authenticating ??= (async () => {
      try {
        for (let i = 0; i < this.members.length; i++) {
          const m = this.members[this.current]!;
          try {
            const r = await new Promise<{ token: string }>((resolve, reject) =>
              m.auth.authenticate({ name: this.conn.user!, password: this.conn.password ?? "" }, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (e, res) => (e ? reject(e) : resolve(res!))),
            );
            this.token = r.token;
            return r.token;
          } catch (e) {
            const err = e as grpc.ServiceError;
            if (err.code !== grpc.status.UNAVAILABLE) throw withMessage(err, `etcd did not authenticate user "${this.conn.user}" (${err.details}): check --etcd-user and --etcd-password-file`);
            if (i === this.members.length - 1) throw explained(e, this.conn);
            this.failover();
          }
        }
        throw new Error("etcd: no member answered Authenticate");
      } finally {
        this.authenticating = undefined;
      }
    })();
    return this.authenticating;
  }
}

/**
 * Answers that refuse the token rather than the call, as etcd's own Go client reads them: a
 * simple token dies unused for --auth-token-ttl, a jwt at its ttl, and a jwt issued before an
 * auth change (a user or role added, say) is "old". etcd applied nothing, so the call may go again.
 */
function tokenRefused(e: grpc.ServiceError): boolean {
  if (e.code === grpc.status.UNAUTHENTICATED) return true;
  return e.code === grpc.status.INVALID_ARGUMENT && /revision of auth store is old|user name is empty/.test(e.details ?? "");
}

/** The same gRPC error (code, details, metadata: callers decide on them as before) saying `text`. */
function withMessage(e: grpc.ServiceError, text: string): grpc.ServiceError {
  return Object.assign(new Error(`${e.code} ${grpc.status[e.code]}: ${text}`), { code: e.code, details: e.details, metadata: e.metadata });
}

/**
 * grpc-js's and etcd's words for a refused call, on one line, with what to check: an operator
 * reads them in ctmd's start-up line and in its outage messages.
 */
function explained(e: unknown, conn: EtcdConnection): unknown {
  const err = e as grpc.ServiceError;
  if (typeof err?.code !== "number" || typeof err.details !== "string") return e;
  if (err.code === grpc.status.PERMISSION_DENIED) {
    return withMessage(err, `etcd denied ${conn.user ? `user "${conn.user}"` : "this client"} a key (${err.details}): its role needs readwrite on every key under the prefix`);
  }
  if (err.code === grpc.status.INVALID_ARGUMENT && !conn.user && /user name is empty/.test(err.details)) {
    return withMessage(err, `etcd has auth on and this client gave no user (${err.details}): pass --etcd-user and --etcd-password-file`);
  }
  // grpc-js: "No connection established. Last error: <cause> (<time>). Resolution note: ..."
  const cause = /Last error: ([\s\S]*?)(?:\s*\(\d{4}-\d\d-\d\dT[^)]*\))?\. Resolution note/.exec(err.details)?.[1]?.replace(/\s+/g, " ").replace(/^Error: /, "").trim();
  if (err.code !== grpc.status.UNAVAILABLE || !cause) return e;
  const tls = conn.ca !== undefined || conn.cert !== undefined;
  const alert = /alert ([a-z ]+?)(?::|$)/i.exec(cause)?.[1];
  if (tls && alert) {
    return withMessage(err, `etcd refused this client's TLS handshake (${alert}): a member with --client-cert-auth wants a certificate its --trusted-ca-file signed (--etcd-cert, --etcd-key)`);
  }
  if (tls && /certificate|self.signed|issuer|altnames/i.test(cause)) {
    return withMessage(err, `etcd's TLS certificate did not verify (${cause}): --etcd-ca must be the CA that signed the members' certificates, which must name the hosts in --etcd-endpoints`);
  }
  if (tls && /wrong version number|before secure TLS connection/i.test(cause)) {
    return withMessage(err, `etcd did not answer TLS (${cause}): are its client URLs plain http? then leave out --etcd-ca`);
  }
  // A TLS listener takes the TCP connection, then drops a client that speaks plaintext HTTP/2 to it.
  if (!tls && cause === "Failed to connect") {
    return withMessage(err, `etcd took the connection but no plaintext gRPC answered: if its client URLs are https, pass its CA with --etcd-ca`);
  }
  return withMessage(err, `no connection to etcd: ${cause}`);
}
