import { createSecureContext } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { grpcTarget } from "@ctm/core/grpc-target";
import { RECEIVE_WINDOW } from "@ctm/core/receive-window";
import type { JsonValue } from "@ctm/core/json";
import { CtmCache, type CacheOptions } from "./cache.js";
import { toPbContext, type Context } from "./convert.js";
import { CtmError } from "./errors.js";
import {
  ApplyRequest,
  BlameRequest,
  ConfigServiceClient,
  DeleteRequest,
  DiffRequest,
  GetAtRequest,
  GetRequest,
  HistoryRequest,
  ListChangesRequest,
  ListKeysRequest,
  RollbackPrefixRequest,
  RollbackRequest,
  SetRequest,
  SnapshotRequest,
  WatchRequest,
  type ApplyOperation,
  type ApplyResponse,
  type BlameResponse,
  type DeleteResponse,
  type DiffResponse,
  type GetAtResponse,
  type GetResponse,
  type HistoryResponse,
  type ListChangesResponse,
  type ListKeysResponse,
  type RollbackPrefixResponse,
  type RollbackResponse,
  type SetResponse,
  type SnapshotResponse,
} from "./gen/ctm/v1/config_service.js";
import type { Entry, RecordKind } from "./gen/ctm/v1/record.js";
import type { DeepPartial, RolloutPlan } from "./gen/ctm/v1/rollout.js";
import {
  AbortRequest,
  ExplainRequest,
  KillRequest,
  PauseRequest,
  PromoteRequest,
  PromoteTarget,
  ResumeRequest,
  RolloutServiceClient,
  StatusRequest,
  type AbortResponse,
  type ExplainResponse,
  type KillResponse,
  type PauseResponse,
  type PromoteResponse,
  type ResumeResponse,
  type StatusResponse,
} from "./gen/ctm/v1/rollout_service.js";
import { backoffDelay, DEFAULT_RETRY, DEFAULT_WATCH_BACKOFF, isRetrySafe, READ_METHODS, sleep, type BackoffPolicy, type RetryPolicy } from "./retry.js";
import { AccessLogServiceClient } from "./gen/ctm/v1/access_log_service.js";
import { ChangeRequestServiceClient } from "./gen/ctm/v1/change_request_service.js";
import { ChangeRequestApi } from "./change-requests.js";
import { HealthCheckServiceClient } from "./gen/ctm/v1/health_check_service.js";
import { ValidatorServiceClient } from "./gen/ctm/v1/validator_service.js";
import { AccessLogApi, HealthApi, ValidatorApi } from "./safety.js";
import { writeSnapshotFile } from "./snapshot-file.js";
import { WatchIterator, type WatchOptions } from "./watch.js";

export interface CtmClientOptions {
  /**
   * host:port of ctmd, e.g. "127.0.0.1:7411"; or the replicas of one store, comma-separated IP
   * addresses ("10.0.0.1:7411,10.0.0.2:7411"), or one DNS name that resolves to all of them
   * ("dns:///ctm.internal:7411"): calls are balanced round-robin and fail over, and the
   * resuming watch moves to another replica when its own goes away.
   */
  address: string;
  /**
   * A bearer token (`ctm_<id>_<secret>`) for a ctmd started with `--auth on`: sent as
   * `authorization: Bearer <token>` metadata on every call, unary and streaming (watch, the
   * cache's watch) alike. Surrounding whitespace is trimmed; undefined or "" sends none. A ctmd
   * with `--auth off` ignores it. Over plaintext the token travels in clear: use `tls` for
   * anything beyond loopback.
   */
  token?: string;
  /**
   * TLS to a ctmd started with `--tls-cert`/`--tls-key`; `{}` trusts the system's CAs. PEM
   * contents (not file names): `{ ca: readFileSync("ca.pem") }`, plus `cert` and `key` (both)
   * for mTLS. Checked when the client is made: an unusable PEM or a key that is not the
   * certificate's throws there, not on the first call. Not together with `credentials`.
   */
  tls?: TlsOptions;
  /** Channel credentials of your own (default: plaintext, or TLS with `tls`). Not together with `tls`. */
  credentials?: grpc.ChannelCredentials;
  /** grpc-js channel options, merged over the SDK's (faster reconnect backoff: 100 ms to 5 s; a 4 MiB HTTP/2 receive window). */
  channelOptions?: grpc.ChannelOptions;
  /** grpc-js client interceptors, run on every call. */
  interceptors?: grpc.Interceptor[];
  /** Default deadline of a unary call, retries included (default 10 000 ms). */
  deadlineMs?: number;
  /** Retries on UNAVAILABLE (see retry.ts for which calls are retried). */
  retry?: Partial<RetryPolicy>;
  /** Called before each retry of a unary call. */
  onRetry?: (info: { method: string; attempt: number; delayMs: number; error: CtmError }) => void;
  /** Reconnection backoff of watches (default 100 ms doubling to 5 s, jittered). */
  watchBackoff?: Partial<BackoffPolicy>;
  /** See WatchOptions.idleTimeoutMs (default 45 000 ms; 0 disables). */
  watchIdleTimeoutMs?: number;
  /** Author of writes that do not name one. */
  author?: string;
  /** Start `client.cache`: a local copy of a prefix or a set of keys, kept fresh by Watch. */
  cache?: CacheOptions;
  /** The clock local evaluation uses (default Date.now). */
  clock?: () => number;
}

/** TLS material for CtmClientOptions.tls: PEM contents, as Buffers or strings. */
export interface TlsOptions {
  /** The CA that signed ctmd's certificate (default: the system's CAs). */
  ca?: Buffer | string;
  /** A client certificate (chain), for mTLS (`--tls-client-ca`); needs `key`. */
  cert?: Buffer | string;
  /** The private key of `cert`. */
  key?: Buffer | string;
  /** The name to check ctmd's certificate against, when it is not the address's host. */
  serverName?: string;
}

/** Per-call options. */
export interface CallOptions {
  /** Deadline of the call, retries and backoff included (default: the client's deadlineMs). */
  deadlineMs?: number;
  /** false: no retry even when the call is safe to retry. */
  retry?: boolean;
  /** Cancels the call (it rejects with CANCELLED). */
  signal?: AbortSignal;
  /** Sent as x-request-id; ctmd logs it with the call. */
  requestId?: string;
  /**
   * Extra request metadata, e.g. `{ "ctm-break-glass": "<reason>" }` on a write to a key a
   * protection policy covers, without a change request (the break_glass right, with auth on).
   */
  metadata?: Record<string, string>;
  /**
   * Wait (within the deadline) for a connection instead of failing fast with UNAVAILABLE
   * while the daemon cannot be reached. The request is sent once a connection is up, so
   * this is safe for any write. Default false (gRPC's fail-fast).
   */
  waitForReady?: boolean;
}

export interface WriteOptions extends CallOptions {
  author?: string;
  message?: string;
  /** Compare-and-set: the key must be at this version (0: must not exist). Makes retries safe. */
  expectedVersion?: number;
}

/** A point in time: a time (Date, ms since the epoch, or RFC 3339) or a revision. */
export type PointInTime = { time: Date | number | string } | { revision: number };

export type ApplyOp =
  | { set: { key: string; value: JsonValue; expectedVersion?: number; rollout?: DeepPartial<RolloutPlan> } }
  | { delete: { key: string; expectedVersion?: number; force?: boolean } };

type Unary<Req, Res> = (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (e: grpc.ServiceError | null, r: Res) => void) => grpc.ClientUnaryCall;

const DEFAULT_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  ...RECEIVE_WINDOW,
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 5_000,
};

const toDate = (t: Date | number | string): Date => (t instanceof Date ? t : new Date(t));

function point(at: PointInTime | undefined): { $case: "time"; value: Date } | { $case: "revision"; value: number } | undefined {
  if (at === undefined) return undefined;
  return "revision" in at ? { $case: "revision", value: at.revision } : { $case: "time", value: toDate(at.time) };
}

/**
 * A typed client for ctmd's ConfigService and RolloutService. Values are plain JSON.
 *
 * Every unary call has a deadline (`deadlineMs`, retries included) and is retried on
 * UNAVAILABLE with exponential backoff and jitter when that is safe: reads always, writes
 * only with `expectedVersion` (see retry.ts). `watch` resumes across disconnects.
 * With `cache`, `client.cache` evaluates keys locally (no RPC) and serves the last known
 * values while the daemon is unreachable; `isOn` and `guard` use it.
 */
export class CtmClient {
  readonly config: InstanceType<typeof ConfigServiceClient>;
  readonly rolloutStub: InstanceType<typeof RolloutServiceClient>;
  readonly validatorStub: InstanceType<typeof ValidatorServiceClient>;
  readonly healthStub: InstanceType<typeof HealthCheckServiceClient>;
  readonly accessLogStub: InstanceType<typeof AccessLogServiceClient>;
  readonly changeRequestStub: InstanceType<typeof ChangeRequestServiceClient>;
  /** The local cache, when the client was created with `cache`. */
  readonly cache: CtmCache | undefined;
  /** RolloutService: status, controls and explain. */
  readonly rollouts: RolloutApi;
  /** ValidatorService: setValidator, deleteValidator, listValidators, validate. */
  readonly validators: ValidatorApi;
  /** HealthCheckService: setHealthCheck, deleteHealthCheck, listHealthChecks, reportMetrics. */
  readonly health: HealthApi;
  /** AccessLogService: query, queryAll, upload. */
  readonly accessLog: AccessLogApi;
  /** ChangeRequestService: create, submit, get, list, edit, approve, reject, cancel and apply change requests. */
  readonly changeRequests: ChangeRequestApi;
  readonly clock: () => number;
  private readonly retryPolicy: RetryPolicy;
  private readonly watchPolicy: BackoffPolicy;
  private closed = false;
  private readonly caches = new Set<CtmCache>();

  constructor(private readonly opts: CtmClientOptions) {
    if (opts.tls !== undefined && opts.credentials !== undefined) throw new Error("CtmClient: give tls or credentials, not both");
    const creds = opts.tls !== undefined ? tlsCredentials(opts.tls) : (opts.credentials ?? grpc.credentials.createInsecure());
    const clientOptions: grpc.ClientOptions = { ...DEFAULT_CHANNEL_OPTIONS, ...opts.channelOptions };
    if (opts.tls?.serverName !== undefined) clientOptions["grpc.ssl_target_name_override"] = opts.tls.serverName;
    const token = opts.token?.trim();
    // After the caller's interceptors, so that they never see the token (e.g. a logging one).
    const interceptors = [...(opts.interceptors ?? []), ...(token ? [bearerInterceptor(token)] : [])];
    if (interceptors.length > 0) clientOptions.interceptors = interceptors;
    // Several addresses (the replicas of a store) are balanced round-robin: calls fail over.
    const { target, options } = grpcTarget(opts.address);
    Object.assign(clientOptions, options, opts.channelOptions);
    this.config = new ConfigServiceClient(target, creds, clientOptions);
    const shared = { ...clientOptions, channelOverride: this.config.getChannel() };
    this.rolloutStub = new RolloutServiceClient(target, creds, shared);
    this.validatorStub = new ValidatorServiceClient(target, creds, shared);
    this.healthStub = new HealthCheckServiceClient(target, creds, shared);
    this.accessLogStub = new AccessLogServiceClient(target, creds, shared);
    this.changeRequestStub = new ChangeRequestServiceClient(target, creds, shared);
    this.retryPolicy = { ...DEFAULT_RETRY, ...opts.retry };
    this.watchPolicy = { ...DEFAULT_WATCH_BACKOFF, ...opts.watchBackoff };
    this.clock = opts.clock ?? Date.now;
    this.rollouts = new RolloutApi(this);
    this.validators = new ValidatorApi(this);
    this.health = new HealthApi(this);
    this.accessLog = new AccessLogApi(this);
    this.changeRequests = new ChangeRequestApi(this);
    this.cache = opts.cache ? this.openCache(opts.cache) : undefined;
  }

  get address(): string {
    return this.opts.address;
  }

  // ---- ConfigService ----

  /** Writes a new version (optionally compare-and-set, optionally rolled out gradually). */
  set(key: string, value: JsonValue, o: WriteOptions & { rollout?: DeepPartial<RolloutPlan> } = {}): Promise<SetResponse> {
    const req = SetRequest.fromPartial({ key, author: this.author(o), message: o.message ?? "", expectedVersion: o.expectedVersion, rollout: o.rollout });
    req.value = value;
    return this.unary("Set", this.config.set, req, o);
  }

  /**
   * The current entry, and the value resolved for `context` by the daemon. A `requestId`
   * (call option or `context.requestId`) is logged with the answer in the access log.
   */
  get(key: string, o: CallOptions & { context?: Context } = {}): Promise<GetResponse> {
    const context = o.requestId !== undefined && !o.context?.requestId ? { ...o.context, requestId: o.requestId } : o.context;
    return this.unary("Get", this.config.get, GetRequest.fromPartial({ key, context: toPbContext(context) }), o);
  }

  /** Appends a tombstone; `force` deletes even a key read within ctmd's delete guard. */
  delete(key: string, o: WriteOptions & { force?: boolean } = {}): Promise<DeleteResponse> {
    return this.unary("Delete", this.config.delete, DeleteRequest.fromPartial({ key, author: this.author(o), message: o.message ?? "", expectedVersion: o.expectedVersion, force: o.force ?? false }), o);
  }

  /** One page of a key's history, newest first. */
  history(key: string, o: CallOptions & { limit?: number; pageToken?: string } = {}): Promise<HistoryResponse> {
    return this.unary("History", this.config.history, HistoryRequest.fromPartial({ key, limit: o.limit ?? 0, pageToken: o.pageToken ?? "" }), o);
  }

  /** Every entry of a key's history, newest first, fetching pages as it goes. */
  async *historyAll(key: string, o: CallOptions & { pageSize?: number } = {}): AsyncGenerator<Entry> {
    let pageToken = "";
    do {
      const page = await this.history(key, { ...o, limit: o.pageSize ?? 0, pageToken });
      yield* page.entries;
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
  }

  /** RFC 6902 operations between two versions (0: defaults, see the API). */
  diff(key: string, o: CallOptions & { fromVersion?: number; toVersion?: number } = {}): Promise<DiffResponse> {
    return this.unary("Diff", this.config.diff, DiffRequest.fromPartial({ key, fromVersion: o.fromVersion ?? 0, toVersion: o.toVersion ?? 0 }), o);
  }

  /** Which version last changed each leaf of the current value, or of the leaves under the JSON Pointer `path`; `truncated` past 10,000 lines. */
  blame(key: string, o: CallOptions & { path?: string } = {}): Promise<BlameResponse> {
    return this.unary("Blame", this.config.blame, BlameRequest.fromPartial({ key, path: o.path ?? "" }), o);
  }

  /** Restores an earlier version (default: the one before the current). */
  rollback(key: string, o: WriteOptions & { toVersion?: number } = {}): Promise<RollbackResponse> {
    const req = RollbackRequest.fromPartial({ key, toVersion: o.toVersion, author: this.author(o), message: o.message ?? "", expectedVersion: o.expectedVersion });
    return this.unary("Rollback", this.config.rollback, req, o);
  }

  /** What a key was at a time or revision (and what `context` was served then). */
  getAt(key: string, at: PointInTime, o: CallOptions & { context?: Context } = {}): Promise<GetAtResponse> {
    return this.unary("GetAt", this.config.getAt, GetAtRequest.fromPartial({ key, at: point(at), context: toPbContext(o.context) }), o);
  }

  /**
   * Every live key under a prefix, now or at a point in time: every page, all read at the first
   * page's revision (a deadline applies to each page).
   */
  async snapshot(o: CallOptions & { prefix?: string; at?: PointInTime; pageSize?: number } = {}): Promise<SnapshotResponse> {
    let page = await this.snapshotPage(o);
    const entries = [...page.entries];
    while (page.nextPageToken !== "") {
      page = await this.snapshotPage({ ...o, pageToken: page.nextPageToken });
      entries.push(...page.entries);
    }
    return { ...page, entries, nextPageToken: "" };
  }

  /** One page of a Snapshot; pass its nextPageToken (with the same prefix) for the next. */
  snapshotPage(o: CallOptions & { prefix?: string; at?: PointInTime; pageSize?: number; pageToken?: string } = {}): Promise<SnapshotResponse> {
    return this.unary(
      "Snapshot",
      this.config.snapshot,
      SnapshotRequest.fromPartial({ prefix: o.prefix ?? "", at: point(o.at), pageSize: o.pageSize ?? 0, pageToken: o.pageToken ?? "" }),
      o,
    );
  }

  /** One page of the live keys under a prefix, in key order, with their reads and whether they roll out. A read: retried. */
  listKeys(o: CallOptions & { prefix?: string; pageSize?: number; pageToken?: string } = {}): Promise<ListKeysResponse> {
    return this.unary("ListKeys", this.config.listKeys, ListKeysRequest.fromPartial({ prefix: o.prefix ?? "", pageSize: o.pageSize ?? 0, pageToken: o.pageToken ?? "" }), o);
  }

  /**
   * One page of records across keys, newest first, filtered by prefix, author and kinds. A page
   * may be short (even empty) with a token that goes on: each call reads a bounded stretch of
   * the log. A read: retried.
   */
  listChanges(o: CallOptions & { prefix?: string; author?: string; kinds?: RecordKind[]; limit?: number; pageToken?: string } = {}): Promise<ListChangesResponse> {
    const req = ListChangesRequest.fromPartial({ prefix: o.prefix ?? "", author: o.author ?? "", kinds: o.kinds ?? [], limit: o.limit ?? 0, pageToken: o.pageToken ?? "" });
    return this.unary("ListChanges", this.config.listChanges, req, o);
  }

  /** Several sets and deletes, all or nothing. Retried only when every operation has expectedVersion. */
  apply(operations: ApplyOp[], o: Omit<WriteOptions, "expectedVersion"> = {}): Promise<ApplyResponse> {
    const ops: ApplyOperation[] = operations.map((op) => {
      if ("set" in op) {
        const { key, value, expectedVersion, rollout } = op.set;
        return { operation: { $case: "set" as const, value: { key, value, expectedVersion, rollout: rollout === undefined ? undefined : planOf(rollout) } } };
      }
      return { operation: { $case: "delete" as const, value: { key: op.delete.key, expectedVersion: op.delete.expectedVersion, force: op.delete.force ?? false } } };
    });
    const req: ApplyRequest = { operations: ops, author: this.author(o), message: o.message ?? "" };
    return this.unary("Apply", this.config.apply, req, o);
  }

  /** Restores every key under a prefix to a point in time, atomically. Never retried. */
  rollbackPrefix(prefix: string, to: PointInTime, o: Omit<WriteOptions, "expectedVersion"> = {}): Promise<RollbackPrefixResponse> {
    const req = RollbackPrefixRequest.fromPartial({ prefix, to: point(to), author: this.author(o), message: o.message ?? "" });
    return this.unary("RollbackPrefix", this.config.rollbackPrefix, req, o);
  }

  /**
   * The entries of a key (or, with `prefix`, of every key under it) from `startRevision`
   * (0: from now on), in revision order, resumed across disconnects and daemon restarts
   * with no loss and no repeat. `for await (const e of client.watch("flags/", { prefix: true }))`.
   */
  watch(key: string, o: WatchOptions = {}): WatchIterator {
    const start = o.startRevision ?? 0;
    const open = (startRevision: number) => this.config.watch(WatchRequest.fromPartial({ key, prefix: o.prefix ?? false, startRevision }));
    return new WatchIterator(open, { ...this.watchPolicy, ...o.backoff }, o.idleTimeoutMs ?? this.opts.watchIdleTimeoutMs ?? 45_000, start, o);
  }

  // ---- Cache, flags and helpers ----

  /** A new local cache of a prefix or a set of keys (the client's own is `client.cache`); close() closes it too. */
  openCache(o: CacheOptions): CtmCache {
    const cache = new CtmCache(this, o);
    this.caches.add(cache);
    return cache;
  }

  /** Resolves once `client.cache` holds data (from the daemon or the bootstrap file). */
  async ready(o: { timeoutMs?: number } = {}): Promise<void> {
    await this.requireCache("ready").ready(o);
  }

  /** Whether the flag resolves truthy for this unit, from `client.cache` (no RPC). See truthy(). */
  isOn(key: string, context?: Context): boolean {
    return this.requireCache("isOn").isOn(key, context);
  }

  /** Runs `fn` (with the resolved value) only when the flag is on for this unit; else returns undefined. */
  guard<T>(key: string, context: Context | undefined, fn: (value: JsonValue) => T): T | undefined {
    return this.requireCache("guard").guard(key, context, fn);
  }

  /**
   * Resolves with the next entry of `key` (a tombstone for a delete), or with undefined
   * when `timeoutMs` passes first: it never rejects for a timeout.
   * "Next" means: with `after`, the first change after that revision; else, when `client.cache`
   * holds the key's prefix, the first change after the cache's revision; else the first
   * change after the watch is registered with the daemon.
   */
  async waitForChange(key: string, timeoutMs: number, o: { after?: number; signal?: AbortSignal } = {}): Promise<Entry | undefined> {
    if (o.after === undefined && this.cache?.covers(key)) return this.cache.waitForChange(key, timeoutMs);
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), timeoutMs);
    const onAbort = () => stop.abort();
    o.signal?.addEventListener("abort", onAbort, { once: true });
    const w = this.watch(key, { startRevision: o.after === undefined ? 0 : o.after + 1, signal: stop.signal });
    try {
      const r = await w.next();
      return r.done ? undefined : r.value;
    } finally {
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
      w.close();
    }
  }

  /**
   * Takes a Snapshot (of `prefix`, default everything) and writes it to `path` as a bootstrap
   * file for CacheOptions.bootstrapFile. `client.cache.saveSnapshot` writes the cache instead.
   */
  async saveSnapshot(path: string, o: CallOptions & { prefix?: string; at?: PointInTime } = {}): Promise<SnapshotResponse> {
    const snap = await this.snapshot(o);
    await writeSnapshotFile(path, { revision: snap.revision || (snap.header?.revision ?? 0), entries: snap.entries });
    return snap;
  }

  /** Stops the caches and every call, and closes the channel. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.caches) c.close();
    this.rolloutStub.close();
    this.validatorStub.close();
    this.healthStub.close();
    this.accessLogStub.close();
    this.changeRequestStub.close();
    this.config.close();
  }

  // ---- internals ----

  /** @internal The author of a write: its own, else the client's default. */
  author(o: { author?: string }): string {
    return o.author ?? this.opts.author ?? "";
  }

  private requireCache(what: string): CtmCache {
    if (this.cache === undefined) throw new Error(`${what} needs a cache: new CtmClient({ address, cache: { prefix: "..." } })`);
    return this.cache;
  }

  /** @internal One unary call with deadline, retries and CtmError mapping. */
  async unary<Req, Res>(method: string, fn: Unary<Req, Res>, req: Req, o: CallOptions, stub: grpc.Client = this.config): Promise<Res> {
    const deadline = Date.now() + (o.deadlineMs ?? this.opts.deadlineMs ?? 10_000);
    const retry = o.retry !== false && isRetrySafe(method, req);
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(o.metadata ?? {})) md.set(k, v);
    if (o.requestId !== undefined) md.set("x-request-id", o.requestId);
    if (o.waitForReady) md.setOptions({ waitForReady: true });
    let retried = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return await attemptCall(stub, fn, req, md, { deadline }, o.signal);
      } catch (e) {
        const delayMs = backoffDelay(this.retryPolicy, attempt - 1);
        const se = e as grpc.ServiceError;
        const again =
          retry && se.code === grpc.status.UNAVAILABLE && attempt < this.retryPolicy.maxAttempts && Date.now() + delayMs < deadline && !o.signal?.aborted && !this.closed;
        const err = CtmError.from(e, method, { attempts: attempt, maybeCommitted: retried && !READ_METHODS.has(method) && se.code === grpc.status.ABORTED });
        if (!again) throw err;
        this.opts.onRetry?.({ method, attempt, delayMs, error: err });
        await sleep(delayMs, o.signal);
        if (o.signal?.aborted) throw new CtmError({ code: grpc.status.CANCELLED, details: "cancelled by the caller", method, attempts: attempt });
        retried = true;
      }
    }
  }
}

/**
 * Adds `authorization: Bearer <token>` to every call's metadata. An interceptor rather than
 * call credentials: grpc-js sends call credentials only over TLS, and a token is also useful
 * over a plaintext loopback connection.
 */
function bearerInterceptor(token: string): grpc.Interceptor {
  if (/[^\x21-\x7e]/.test(token)) throw new Error("CtmClient: the token must be printable ASCII without spaces (ctm_<id>_<secret>)");
  const value = `Bearer ${token}`;
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set("authorization", value);
        next(metadata, listener);
      },
    });
}

const pem = (x: Buffer | string | undefined): Buffer | null => (x === undefined ? null : Buffer.isBuffer(x) ? x : Buffer.from(x));

/** TLS channel credentials from PEM contents, checked now. */
function tlsCredentials(t: TlsOptions): grpc.ChannelCredentials {
  if ((t.cert === undefined) !== (t.key === undefined)) throw new Error("CtmClient: tls.cert and tls.key go together");
  const ca = pem(t.ca);
  const cert = pem(t.cert);
  const key = pem(t.key);
  // node:tls silently ignores a CA without a certificate in it, which would fail every call later.
  if (ca && !ca.includes("-----BEGIN CERTIFICATE-----")) throw new Error("CtmClient: tls.ca holds no PEM certificate");
  try {
    // Built once now so that a PEM node cannot use, or a key that is not the certificate's,
    // throws here rather than making every call UNAVAILABLE.
    createSecureContext({ ca: ca ?? undefined, cert: cert ?? undefined, key: key ?? undefined });
  } catch (e) {
    throw new Error(`CtmClient: tls: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return grpc.credentials.createSsl(ca, key, cert);
}

function planOf(rollout: DeepPartial<RolloutPlan>): RolloutPlan {
  return SetRequest.fromPartial({ rollout }).rollout!;
}

function attemptCall<Req, Res>(stub: grpc.Client, fn: Unary<Req, Res>, req: Req, md: grpc.Metadata, callOpts: Partial<grpc.CallOptions>, signal?: AbortSignal): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    if (signal?.aborted) return reject({ code: grpc.status.CANCELLED, details: "cancelled by the caller", metadata: new grpc.Metadata() });
    const onAbort = () => call.cancel();
    const call = fn.call(stub, req, md, callOpts, (e, r) => {
      signal?.removeEventListener("abort", onAbort);
      if (e) reject(e);
      else resolve(r);
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** RolloutService, as `client.rollouts`. */
export class RolloutApi {
  constructor(private readonly c: CtmClient) {}

  private control<Req, Res>(method: string, fn: Unary<Req, Res>, req: Req, o: CallOptions): Promise<Res> {
    return this.c.unary(`Rollout.${method}`, fn, req, o, this.c.rolloutStub);
  }

  private meta(key: string, o: WriteOptions) {
    return { key, author: this.c.author(o), message: o.message ?? "", expectedVersion: o.expectedVersion };
  }

  /** Percentage, ring, pause and kill state, milestones. */
  status(key: string, o: CallOptions = {}): Promise<StatusResponse> {
    return this.control("Status", this.c.rolloutStub.status, StatusRequest.fromPartial({ key }), o);
  }

  pause(key: string, o: WriteOptions = {}): Promise<PauseResponse> {
    return this.control("Pause", this.c.rolloutStub.pause, PauseRequest.fromPartial(this.meta(key, o)), o);
  }

  /** Restarts the plan's clock, and lifts a kill switch. */
  resume(key: string, o: WriteOptions = {}): Promise<ResumeResponse> {
    return this.control("Resume", this.c.rolloutStub.resume, ResumeRequest.fromPartial(this.meta(key, o)), o);
  }

  /** The next step or ring ("next", the default), or "finish". */
  promote(key: string, o: WriteOptions & { target?: "next" | "finish" } = {}): Promise<PromoteResponse> {
    const target = o.target === "finish" ? PromoteTarget.PROMOTE_TARGET_FINISH : PromoteTarget.PROMOTE_TARGET_NEXT;
    return this.control("Promote", this.c.rolloutStub.promote, PromoteRequest.fromPartial({ ...this.meta(key, o), target }), o);
  }

  /** Ends the rollout: the stable value becomes static. */
  abort(key: string, o: WriteOptions = {}): Promise<AbortResponse> {
    return this.control("Abort", this.c.rolloutStub.abort, AbortRequest.fromPartial(this.meta(key, o)), o);
  }

  /** Kill switch: the stable value for everyone until resumed. */
  kill(key: string, o: WriteOptions = {}): Promise<KillResponse> {
    return this.control("Kill", this.c.rolloutStub.kill, KillRequest.fromPartial(this.meta(key, o)), o);
  }

  /** The decision for one unit, step by step (at `time`, default now). */
  explain(key: string, context: Context, o: CallOptions & { time?: Date | number | string } = {}): Promise<ExplainResponse> {
    const req = ExplainRequest.fromPartial({ key, context: toPbContext(context), time: o.time === undefined ? undefined : toDate(o.time) });
    return this.control("Explain", this.c.rolloutStub.explain, req, o);
  }
}
