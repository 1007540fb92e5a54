import cluster, { type Worker } from "node:cluster";
import type { ReadStats } from "../service/read-stats.js";
import type { Logger } from "pino";
import { AggregatorRegistry, type Registry } from "prom-client";
import { isCtmError } from "../domain/errors.js";
import type { AuthService } from "../service/auth-service.js";
import type { AccessSink } from "../service/access-log.js";
import { cbor } from "../storage/level/codec.js";
import type { LogStore } from "../storage/log-store.js";
import { wholeBatches } from "../storage/notify-listeners.js";
import type { InternalCalls, InternalReply } from "../transport/grpc/internal-calls.js";
import { READ_OPS, type ToPrimary, type ToWorker, type WireError } from "./worker-messages.js";

export interface WorkerPoolOptions {
  count: number;
  /** The worker's entry file, with the node flags it needs (see workerScript). */
  entry: { file: string; execArgv: string[] };
  /** The daemon's own arguments: each worker reads the same configuration. */
  args: string[];
  /** Runs the calls workers forward over IPC (writes and history reads). */
  calls: InternalCalls;
  store: LogStore;
  access: AccessSink;
  /** Takes the read counts workers report. */
  reads: ReadStats;
  auth: AuthService;
  registry: Registry;
  log: Logger;
  /** Encoded commit bytes a worker may have not yet taken from its channel before it is restarted. */
  maxLagBytes: number;
}

/** Latest records per load message: bounded messages, however many keys the store holds. */
const LOAD_PAGE = 1000;
/** Load pages handed to a worker's channel and not yet written out: the primary's memory per loading worker. */
const LOAD_AHEAD = 8;
/** How long a restarted worker waits before it is forked again, after one that died. */
const RESTART_DELAY_MS = 1000;

const isRead = (op: string): op is (typeof READ_OPS)[number] => (READ_OPS as readonly string[]).includes(op);

/**
 * Read workers (`ctmd --workers N`): processes forked with node's cluster module that share the
 * public port, follow the store's commits over IPC and serve Get and Watch from memory, so reads
 * use every core. The primary keeps the store and the loops; each worker runs the call chain for
 * every call it takes and hands the ones it does not serve to the primary over the same channel. A worker that dies is forked again; when the primary
 * dies, its workers see the IPC channel close and exit.
 */
export class WorkerPool {
  private readonly following = new Set<Worker>();
  /** Workers being sent the latest records, with the commits that landed meanwhile, in order. */
  private readonly loading = new Map<Worker, { commits: (ToWorker & { t: "commit" })[]; bytes: number }>();
  /** Per worker, the encoded commit bytes sent and not yet written to its channel. */
  private readonly lag = new Map<Worker, number>();
  private readonly listening = new Map<Worker, string>();
  private readonly waitingForMetrics = new Map<number, (json: unknown) => void>();
  private readonly replies = new Map<Worker, { id: number; reply: InternalReply }[]>();
  private nextMetricsId = 1;
  private serving = false;
  private stopping = false;
  private readonly unsubscribe: () => void;
  private onListening: (() => void) | undefined;

  constructor(private readonly opts: WorkerPoolOptions) {
    // Whole: a worker applies one message at a time and serves reads between them, so a batch
    // sent in parts would be half visible there.
    this.unsubscribe = opts.store.onCommit(wholeBatches((records) => {
      if (this.following.size === 0 && this.loading.size === 0) return;
      // Encoded once for every worker; the channel keeps the batches in revision order.
      const message: ToWorker = { t: "commit", records: cbor.encode(records), first: opts.store.firstRevision, firstTime: opts.store.firstTime };
      for (const w of this.following) this.sendCommit(w, message);
      for (const [w, queued] of this.loading) this.queueCommit(w, queued, message);
    }));
  }

  /** Forks the workers and resolves the address they all listen on. */
  async start(): Promise<string> {
    cluster.setupPrimary({ exec: this.opts.entry.file, execArgv: this.opts.entry.execArgv, args: this.opts.args, serialization: "advanced" });
    const ready = new Promise<void>((resolve) => (this.onListening = resolve));
    for (let i = 0; i < this.opts.count; i++) this.fork();
    await ready;
    return [...this.listening.values()][0]!;
  }

  /** The running workers' process ids. */
  get pids(): number[] {
    return Object.values(cluster.workers ?? {}).flatMap((w) => (w?.process.pid === undefined ? [] : [w.process.pid]));
  }

  /** Tells every worker whether to answer SERVING to health checks. */
  setServing(serving: boolean): void {
    if (serving === this.serving) return;
    this.serving = serving;
    for (const w of this.following) this.send(w, { t: "serving", serving });
  }

  reloadTls(): void {
    for (const w of [...this.following, ...this.loading.keys()]) this.send(w, { t: "reload-tls" });
  }

  /** The primary's metrics and every worker's, summed by prom-client's cluster aggregation. */
  async metrics(): Promise<string> {
    const asked = [...this.following].map(
      (w) =>
        new Promise<unknown>((resolve) => {
          const id = this.nextMetricsId++;
          const timer = setTimeout(() => {
            this.waitingForMetrics.delete(id);
            resolve([]);
          }, 2000);
          this.waitingForMetrics.set(id, (json) => {
            clearTimeout(timer);
            resolve(json);
          });
          this.send(w, { t: "metrics", id });
        }),
    );
    const all = [await this.opts.registry.getMetricsAsJSON(), ...(await Promise.all(asked))];
    return AggregatorRegistry.aggregate(all as object[]).metrics();
  }

  /** Tells the workers to drain, and waits for them to exit. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribe();
    const exits = Object.values(cluster.workers ?? {}).map(
      (w) =>
        new Promise<void>((resolve) => {
          if (!w || w.isDead()) return resolve();
          w.once("exit", () => resolve());
          this.send(w, { t: "stop" });
        }),
    );
    await Promise.all(exits);
  }

  private fork(): void {
    const w = cluster.fork();
    w.on("message", (m: ToPrimary) => this.receive(w, m));
    w.on("exit", (code, signal) => {
      this.following.delete(w);
      this.loading.delete(w);
      this.lag.delete(w);
      this.listening.delete(w);
      if (this.stopping) return;
      this.opts.log.error({ worker: w.process.pid, code, signal }, "a read worker exited; starting another");
      setTimeout(() => {
        if (!this.stopping) this.fork();
      }, RESTART_DELAY_MS).unref();
    });
  }

  /**
   * Sends every latest record as it stands in this turn, then the commits since, then follows.
   * The pages are encoded a few at a time as the channel takes them, so that a worker loading a
   * large store holds neither the primary's event loop nor more than a few pages of its memory.
   */
  private load(w: Worker): void {
    const store = this.opts.store;
    const records = Array.from(store.eachLatest(""));
    const at = { revision: store.headRevision, first: store.firstRevision, firstTime: store.firstTime };
    this.loading.set(w, { commits: [], bytes: 0 });
    const started = performance.now();
    let next = 0;
    let inFlight = 0;
    let scheduled = false;
    // One page per turn of the event loop, and a new one only as the channel takes the last ones.
    const later = (): void => {
      if (scheduled) return;
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        pump();
      });
    };
    const pump = (): void => {
      if (!this.loading.has(w)) return;
      if (!w.isConnected()) {
        this.loading.delete(w);
        return;
      }
      if (inFlight < LOAD_AHEAD && next < records.length) {
        const page = records.slice(next, (next += LOAD_PAGE));
        inFlight++;
        w.send({ t: "load", records: cbor.encode(page), ...at, done: next >= records.length } satisfies ToWorker, undefined, {}, () => {
          inFlight--;
          later();
        });
        later();
        return;
      }
      if (next < records.length || inFlight > 0) return;
      if (records.length === 0) this.send(w, { t: "load", records: cbor.encode([]), ...at, done: true });
      const queued = this.loading.get(w)!;
      this.loading.delete(w);
      this.following.add(w);
      for (const m of queued.commits) this.sendCommit(w, m);
      this.send(w, { t: "serving", serving: this.serving });
      this.opts.log.info({ worker: w.process.pid, records: records.length, revision: at.revision, commitsMeanwhile: queued.commits.length, ms: Math.round(performance.now() - started) }, "a read worker was sent every key");
    };
    pump();
  }

  private receive(w: Worker, m: ToPrimary): void {
    switch (m.t) {
      case "hello":
        return this.load(w);
      case "read":
        return void this.read(w, m.id, m.op, m.args);
      case "calls":
        for (const { id, call } of m.calls) void this.opts.calls.invoke(call).then((reply) => this.reply(w, id, reply));
        return;
      case "listening":
        this.listening.set(w, m.address);
        if (this.listening.size === this.opts.count) this.onListening?.();
        return;
      case "access":
        for (const r of m.records) this.opts.access.record(r);
        return;
      case "reads":
        return this.opts.reads.merge(m.entries);
      case "usage":
        return this.opts.auth.noteUsage(m.used);
      case "metrics":
        this.waitingForMetrics.get(m.id)?.(m.json);
        this.waitingForMetrics.delete(m.id);
        return;
    }
  }

  private async read(w: Worker, id: number, op: string, args: unknown[]): Promise<void> {
    try {
      if (!isRead(op)) throw new Error(`no such read: ${op}`);
      const fn = this.opts.store[op] as (...a: unknown[]) => Promise<unknown>;
      const value = await fn.apply(this.opts.store, args);
      this.send(w, { t: "reply", id, value: value === undefined ? undefined : cbor.encode(value) });
    } catch (e) {
      const error: WireError = isCtmError(e)
        ? { code: e.code, message: e.message, field: e.field, details: { ...e.details } }
        : { code: "internal", message: e instanceof Error ? e.message : String(e), details: {} };
      this.send(w, { t: "reply", id, error });
    }
  }

  /**
   * A worker that stops reading its channel (stopped, or too slow) would make the primary buffer
   * every commit for it without bound: past the limit it is killed, and its replacement loads
   * afresh, as etcd cancels a watcher that falls too far behind.
   */
  private sendCommit(w: Worker, m: ToWorker & { t: "commit" }): void {
    if (!w.isConnected()) return;
    const bytes = m.records.length;
    // What is still pending counts, not this batch: one large batch is no reason to restart.
    const pending = this.lag.get(w) ?? 0;
    if (pending > this.opts.maxLagBytes) {
      this.giveUp(w, pending);
      return;
    }
    this.lag.set(w, pending + bytes);
    w.send(m, undefined, {}, () => {
      const left = (this.lag.get(w) ?? bytes) - bytes;
      if (this.lag.has(w)) this.lag.set(w, left);
    });
  }

  /** A commit for a worker still loading waits for its pages, within the same bound as a lagging worker's. */
  private queueCommit(w: Worker, queued: { commits: (ToWorker & { t: "commit" })[]; bytes: number }, m: ToWorker & { t: "commit" }): void {
    queued.commits.push(m);
    queued.bytes += m.records.length;
    if (queued.bytes > this.opts.maxLagBytes) this.giveUp(w, queued.bytes);
  }

  private giveUp(w: Worker, lagBytes: number): void {
    this.following.delete(w);
    this.loading.delete(w);
    this.lag.delete(w);
    this.opts.log.error({ worker: w.process.pid, lagBytes }, "a read worker fell too far behind the commits; restarting it");
    w.process.kill("SIGKILL");
  }

  /** Replies go out together, as many as are ready in this turn of the event loop. */
  private reply(w: Worker, id: number, reply: InternalReply): void {
    let queued = this.replies.get(w);
    if (queued === undefined) {
      this.replies.set(w, (queued = []));
      setImmediate(() => {
        this.replies.delete(w);
        this.send(w, { t: "called", replies: queued! });
      });
    }
    queued.push({ id, reply });
  }

  private send(w: Worker, m: ToWorker): void {
    // A worker that has just died takes its messages with it: its replacement loads afresh.
    if (w.isConnected()) w.send(m);
  }
}
