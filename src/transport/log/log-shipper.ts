import { writeSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { LogBatchFormatter } from "./log-batch-formatter.js";

/** Where a unary RPC that succeeded is logged: method, key, duration (status OK). */
export interface RpcLines {
  ok(method: string, key: string | undefined, durationMs: number): void;
}

export interface LogWorkerData {
  fd: number;
  /** Bindings of every RPC line (those of the transport's logger, e.g. component). */
  rpcBindings: Record<string, unknown>;
  /** Set to 1 by the worker when a sync batch is written. */
  done: SharedArrayBuffer;
}

/** One shipment: RPC rows as columns, and the main thread's own lines with their place among them. */
export interface LogBatch {
  rows: { time: number[]; method: string[]; key: (string | undefined)[]; durationMs: number[] };
  lines: string[];
  /** lines[i] goes before rows[lineAt[i]]. */
  lineAt: number[];
  ack?: number;
  sync?: boolean;
}

export interface LogShipperOptions {
  fd: number;
  rpcBindings: Record<string, unknown>;
  /** A shipment leaves once it holds this many rows... */
  maxRows: number;
  /** ...or this long after its first one. */
  maxDelayMs: number;
}

export const LOG_SHIPPER_DEFAULTS: LogShipperOptions = { fd: 1, rpcBindings: {}, maxRows: 1024, maxDelayMs: 20 };

const here = import.meta.url;
const workerUrl = new URL(here.endsWith(".ts") ? "./log-worker.ts" : "./log-worker.js", here);
const workerExecArgv = here.endsWith(".ts") ? ["--import", "tsx"] : [];

/**
 * ctmd's log output. A successful RPC's line costs the serving thread four array pushes: rows
 * go to a worker thread in shipments, and the worker formats them with pino and writes them.
 * The main logger's own lines (lifecycle, errors) are a pino destination here and travel in
 * the same shipments, so the worker is the fd's one writer and lines keep their order.
 * Shipments are small and frequent so that rows die young instead of aging into the old
 * generation. Everything logged reaches the fd on flush, and synchronously at exit.
 */
export class LogShipper implements RpcLines {
  private batch = emptyBatch();
  private timer: NodeJS.Timeout | undefined;
  private readonly worker: Worker;
  private readonly done = new Int32Array(new SharedArrayBuffer(4));
  private readonly acks = new Map<number, () => void>();
  private nextAck = 1;
  private dead = false;
  private fallback: LogBatchFormatter | undefined;
  private readonly shipLater = (): void => {
    this.timer = undefined;
    this.ship();
  };

  constructor(private readonly opts: LogShipperOptions = LOG_SHIPPER_DEFAULTS) {
    const data: LogWorkerData = { fd: opts.fd, rpcBindings: opts.rpcBindings, done: this.done.buffer as SharedArrayBuffer };
    this.worker = new Worker(workerUrl, { workerData: data, execArgv: workerExecArgv, stdout: false, stderr: false });
    this.worker.unref();
    this.worker.on("message", (id: number) => {
      this.acks.get(id)?.();
      this.acks.delete(id);
    });
    // Without its writer, the log is written here (see writeHere).
    const orphan = (): void => {
      this.dead = true;
      for (const resolve of this.acks.values()) resolve();
      this.acks.clear();
    };
    this.worker.on("error", orphan);
    this.worker.on("exit", orphan);
    process.on("exit", () => this.flushSync());
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

  /** pino's logger.flush(cb): calls back once everything logged so far is written. */
  flush(cb?: (err?: Error) => void): void {
    if (this.dead) {
      this.ship();
      cb?.();
      return;
    }
    const ack = this.nextAck++;
    this.acks.set(ack, () => cb?.());
    this.ship(ack);
  }

  /** At exit: blocks until the worker has written everything (or a second has passed). */
  flushSync(): void {
    if (this.dead) return this.ship();
    Atomics.store(this.done, 0, 0);
    this.ship(undefined, true);
    Atomics.wait(this.done, 0, 0, 1000);
  }

  /** Writes what is left and stops the worker. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.flush(() => resolve()));
    this.dead = true;
    await this.worker.terminate();
  }

  private soon(size: number): void {
    if (size >= this.opts.maxRows) this.ship();
    else this.timer ??= setTimeout(this.shipLater, this.opts.maxDelayMs).unref();
  }

  private ship(ack?: number, sync?: boolean): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const b = this.batch;
    this.batch = emptyBatch();
    if (this.dead) return this.writeHere(b);
    if (ack !== undefined) b.ack = ack;
    if (sync) b.sync = true;
    this.worker.postMessage(b);
  }

  /** Without the worker, the main thread formats and writes, synchronously: slower, but nothing is lost. */
  private writeHere(b: LogBatch): void {
    if (b.rows.method.length === 0 && b.lines.length === 0) return;
    this.fallback ??= new LogBatchFormatter(this.opts.rpcBindings);
    try {
      writeSync(this.opts.fd, this.fallback.format(b));
    } catch {
      // A closed or full fd: nowhere left to report to.
    }
  }
}

const emptyBatch = (): LogBatch => ({ rows: { time: [], method: [], key: [], durationMs: [] }, lines: [], lineAt: [] });
