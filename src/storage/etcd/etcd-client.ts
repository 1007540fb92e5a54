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
    const creds = conn.ca || conn.cert ? grpc.credentials.createSsl(conn.ca ?? null, conn.key ?? null, conn.cert ?? null) : grpc.credentials.createInsecure();
    // Records can be large: etcd itself refuses requests over its own limit (1.5 MiB by default).
    const options = { "grpc.max_receive_message_length": 64 * 1024 * 1024, "grpc.keepalive_time_ms": 10_000, "grpc.keepalive_timeout_ms": 5_000 };
    this.members = conn.endpoints.map((e) => {
      const target = e.replace(/^https?:\/\//, "");
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
        const code = (e as grpc.ServiceError).code;
        if (code === grpc.status.UNAUTHENTICATED && this.conn.user && !renewed) {
          // etcd's simple tokens expire (5 min by default): get a new one, once.
          this.token = undefined;
          return this.unary(method, req, idempotent, true);
        }
        if (!FAILOVER.has(code)) throw e;
        this.failover();
      }
    }
    throw last;
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
            if ((e as grpc.ServiceError).code !== grpc.status.UNAVAILABLE || i === this.members.length - 1) throw e;
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
