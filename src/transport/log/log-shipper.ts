import { writeSync } from "node:fs";
import { hostname } from "node:os";
import { Worker } from "node:worker_threads";
import { pino, type Logger } from "pino";
import { workerScript } from "../../worker-script.js";
import { LogBatchFormatter } from "./log-batch-formatter.js";

/** Where a unary RPC that succeeded is logged: method, key, duration (status OK). */
export interface RpcLines {
  ok(method: string, key: string | undefined, durationMs: number): void;
}

/** One HTTP request the HTTP face logs at info, as fields: the worker makes the line (see HttpChain.track). */
export interface HttpRow {
  /** When it ended (ms since the epoch): the line's time. */
  time: number;
  route: string;
  method: string | undefined;
  path: string;
  status: number;
  durationMs: number;
  requestId: string;
  principal: string | undefined;
}

export interface HttpLines {
  http(row: HttpRow): void;
}

/** An HTTP row's fields as its log line carries them, in order: one layout for the worker's lines and the serving thread's. */
export const httpFields = (r: HttpRow): Record<string, unknown> => ({
  route: r.route,
  method: r.method,
  path: r.path,
  status: r.status,
  durationMs: r.durationMs,
  requestId: r.requestId,
  ...(r.principal !== undefined ? { principal: r.principal } : {}),
});

export interface LogWorkerData {
  fd: number;
  /** Bindings of every RPC line (those of the transport's logger, e.g. component). */
  rpcBindings: Record<string, unknown>;
  /** Bindings of every HTTP row's line. */
  httpBindings: Record<string, unknown>;
  /** The worker stores the sequence number of each batch once it is written (and notifies). */
  written: SharedArrayBuffer;
}

/** One shipment: RPC rows as columns, and the main thread's own lines with their place among them. */
export interface LogBatch {
  rows: { time: number[]; method: string[]; key: (string | undefined)[]; durationMs: number[] };
  /** The main logger's lines, and HTTP rows in their place among them. */
  lines: (string | HttpRow)[];
  /** lines[i] goes before rows[lineAt[i]]. */
  lineAt: number[];
  /** 1, 2, 3... in the order shipped. */
  seq?: number;
  /** Its estimated size, while unconfirmed. */
  bytes?: number;
}

export interface LogShipperOptions {
  fd: number;
  rpcBindings: Record<string, unknown>;
  httpBindings: Record<string, unknown>;
  /** A shipment leaves once it holds this many rows... */
  maxRows: number;
  /** ...or this long after its first one. */
  maxDelayMs: number;
  /**
   * Shipped and not yet written (stdout blocked: a full pipe, a stopped reader) is held up
   * to about this many bytes; shipments beyond it are dropped and counted.
   */
  maxPendingBytes: number;
}

export const LOG_SHIPPER_DEFAULTS: LogShipperOptions = { fd: 1, rpcBindings: {}, httpBindings: {}, maxRows: 1024, maxDelayMs: 20, maxPendingBytes: 16 * 1024 * 1024 };

/** Per row, beside its key: the JSON around it (time, pid, hostname, bindings, method, status...). */
const ROW_OVERHEAD_BYTES = 160;

const script = workerScript("log-worker", import.meta.url);

/**
 * ctmd's log output. A successful RPC's line costs the serving thread four array pushes: rows
 * go to a worker thread in shipments, and the worker formats them with pino and writes them.
 * The main logger's own lines (lifecycle, errors) are a pino destination here and travel in
 * the same shipments, so the worker is the fd's one writer and lines keep their order.
 * Shipments are small and frequent so that rows die young instead of aging into the old
 * generation. Everything logged reaches the fd on flush, and synchronously at exit.
 */
export class LogShipper implements RpcLines, HttpLines {
  private batch = emptyBatch();
  private timer: NodeJS.Timeout | undefined;
  private readonly worker: Worker;
  /** The worker sets it to the sequence number of each batch it has written. */
  private readonly written = new Int32Array(new SharedArrayBuffer(4));
  /** Sent and not yet confirmed written, oldest first: written here if the worker dies. */
  private unconfirmed: LogBatch[] = [];
  /** The estimated size of `unconfirmed`. */
  private unconfirmedBytes = 0;
  private droppedTotal = 0;
  /** Dropped since the last report of it: told in the log once the output flows again. */
  private droppedUnreported = 0;
  private ownLog: Logger | undefined;
  private readonly waiting: { seq: number; cb: () => void }[] = [];
  private seq = 0;
  private dead = false;
  private fallback: LogBatchFormatter | undefined;
  private readonly onExit = (): void => this.flushSync();
  private readonly shipLater = (): void => {
    this.timer = undefined;
    this.ship();
  };

  constructor(private readonly opts: LogShipperOptions = LOG_SHIPPER_DEFAULTS) {
    const data: LogWorkerData = { fd: opts.fd, rpcBindings: opts.rpcBindings, httpBindings: opts.httpBindings, written: this.written.buffer as SharedArrayBuffer };
    this.worker = new Worker(script.url, { workerData: data, execArgv: script.execArgv, stdout: false, stderr: false });
    this.worker.unref();
    this.worker.on("message", (seq: number) => this.confirm(seq));
    // Without its writer, the log is written here: what was sent and not confirmed, then everything new.
    const orphan = (): void => {
      if (this.dead) return;
      this.dead = true;
      this.takeOver();
    };
    this.worker.on("error", orphan);
    this.worker.on("exit", orphan);
    process.on("exit", this.onExit);
  }

  /** Rows and lines dropped because the log output was blocked (ctm_log_lines_dropped_total). */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** Estimated bytes shipped and not yet written: at most about maxPendingBytes. */
  get pendingBytes(): number {
    return this.unconfirmedBytes;
  }

  ok(method: string, key: string | undefined, durationMs: number): void {
    const rows = this.batch.rows;
    rows.time.push(Date.now());
    rows.method.push(method);
    rows.key.push(key);
    rows.durationMs.push(durationMs);
    this.soon(rows.method.length);
  }

  /** The pino destination of the main logger. */
  write(line: string): boolean {
    this.batch.lines.push(line);
    this.batch.lineAt.push(this.batch.rows.method.length);
    this.soon(this.opts.maxRows);
    return true;
  }

  /**
   * A line that may wait for the shipment like an RPC row (per-request lines of the HTTP face):
   * at a high request rate, shipping each at once would cost a message per request.
   */
  writeBatched(line: string): boolean {
    this.batch.lines.push(line);
    this.batch.lineAt.push(this.batch.rows.method.length);
    this.soon(this.batch.rows.method.length + this.batch.lines.length);
    return true;
  }

  /** An HTTP request's info line, made by the worker as for RPC rows: a push here instead of pino's serializing. */
  http(row: HttpRow): void {
    this.batch.lines.push(row);
    this.batch.lineAt.push(this.batch.rows.method.length);
    this.soon(this.batch.rows.method.length + this.batch.lines.length);
  }

  /** pino's logger.flush(cb): calls back once everything logged so far is written. */
  flush(cb?: (err?: Error) => void): void {
    this.ship();
    if (this.dead || this.unconfirmed.length === 0) {
      cb?.();
      return;
    }
    this.waiting.push({ seq: this.seq, cb: () => cb?.() });
  }

  /** At exit: blocks until the worker has written everything; after a second, writes the rest itself. */
  flushSync(): void {
    this.ship();
    if (this.dead) return;
    const deadline = Date.now() + 1000;
    for (let now = Date.now(); Atomics.load(this.written, 0) < this.seq && now < deadline; now = Date.now()) {
      Atomics.wait(this.written, 0, Atomics.load(this.written, 0), deadline - now);
    }
    this.confirm(Atomics.load(this.written, 0));
    if (this.unconfirmed.length > 0) {
      this.dead = true;
      this.takeOver();
    }
  }

  /** Writes what is left and stops the worker. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.flush(() => resolve()));
    process.off("exit", this.onExit);
    this.dead = true;
    await this.worker.terminate();
  }

  private soon(size: number): void {
    if (size >= this.opts.maxRows) this.ship();
    else this.timer ??= setTimeout(this.shipLater, this.opts.maxDelayMs).unref();
  }

  private ship(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const b = this.batch;
    if (b.rows.method.length === 0 && b.lines.length === 0) return;
    this.batch = emptyBatch();
    if (this.dead) return this.writeHere(b);
    const bytes = sizeOf(b);
    if (this.unconfirmedBytes + bytes > this.opts.maxPendingBytes && this.unconfirmed.length > 0) {
      // The writer is stuck: holding more would grow without bound. Newest goes first; the count is logged later.
      const n = b.rows.method.length + b.lines.length;
      this.droppedTotal += n;
      this.droppedUnreported += n;
      return;
    }
    b.seq = ++this.seq;
    b.bytes = bytes;
    this.unconfirmed.push(b);
    this.unconfirmedBytes += bytes;
    this.worker.postMessage(b);
  }

  /** The worker has written every batch up to `seq`. */
  private confirm(seq: number): void {
    let n = 0;
    while (n < this.unconfirmed.length && this.unconfirmed[n]!.seq! <= seq) this.unconfirmedBytes -= this.unconfirmed[n++]!.bytes ?? 0;
    if (n > 0) this.unconfirmed = this.unconfirmed.slice(n);
    while (this.waiting.length > 0 && this.waiting[0]!.seq <= seq) this.waiting.shift()!.cb();
    // Flowing again (half the room free): say what was lost, in the log itself.
    if (this.unconfirmedBytes <= this.opts.maxPendingBytes / 2) this.reportDrops();
  }

  private reportDrops(): void {
    if (this.droppedUnreported === 0) return;
    const dropped = this.droppedUnreported;
    this.droppedUnreported = 0;
    this.ownLog ??= pino({ base: { pid: process.pid, hostname: hostname() } }, this).child({ component: "log" });
    this.ownLog.warn({ dropped, droppedTotal: this.droppedTotal, maxPendingBytes: this.opts.maxPendingBytes }, "log output was blocked; lines were dropped");
  }

  private takeOver(): void {
    const left = this.unconfirmed;
    this.unconfirmed = [];
    this.unconfirmedBytes = 0;
    for (const b of left) this.writeHere(b);
    this.reportDrops();
    for (const w of this.waiting.splice(0)) w.cb();
  }

  /** Without the worker, the main thread formats and writes, synchronously: slower, but nothing is lost. */
  private writeHere(b: LogBatch): void {
    this.fallback ??= new LogBatchFormatter(this.opts.rpcBindings, this.opts.httpBindings);
    try {
      writeSync(this.opts.fd, this.fallback.format(b));
    } catch {
      // A closed or full fd: nowhere left to report to.
    }
  }
}

/** About the bytes a shipment becomes (and holds in memory twice: here and in the worker's queue). */
function sizeOf(b: LogBatch): number {
  let n = b.rows.method.length * ROW_OVERHEAD_BYTES;
  for (const k of b.rows.key) n += k?.length ?? 0;
  for (const m of b.rows.method) n += m.length;
  for (const l of b.lines) n += typeof l === "string" ? l.length : ROW_OVERHEAD_BYTES + l.path.length + l.requestId.length;
  return n;
}

const emptyBatch = (): LogBatch => ({ rows: { time: [], method: [], key: [], durationMs: [] }, lines: [], lineAt: [] });
