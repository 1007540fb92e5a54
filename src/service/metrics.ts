import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { RpcLatencyHistogram } from "./rpc-latency-histogram.js";

/** RPCs of one (method, code) so far, and how many of them the counter already holds. */
interface RpcTally {
  method: string;
  code: string;
  n: number;
  reported: number;
}

/**
 * Every metric ctmd exports, on one registry owned by the composition root (no
 * global registry). Gauges that mirror state are filled by collect callbacks
 * set with `observe`.
 */
export class Metrics {
  readonly registry = new Registry();
  // Every RPC counts itself in a plain number; the counter reads the tallies at scrape time.
  private readonly rpcTallies = new Map<string, RpcTally>();
  private readonly rpcs = new Counter({
    name: "ctm_rpc_requests_total",
    help: "RPCs by method and status code",
    labelNames: ["method", "code"],
    registers: [this.registry],
    collect: () => {
      for (const t of this.rpcTallies.values()) {
        this.rpcs.labels(t.method, t.code).inc(t.n - t.reported);
        t.reported = t.n;
      }
    },
  });
  private readonly rpcSeconds = new RpcLatencyHistogram(this.registry);
  readonly sets = new Counter({ name: "ctm_records_written_total", help: "Records appended to the log, by kind", labelNames: ["kind"], registers: [this.registry] });
  readonly watchStreams = new Gauge({ name: "ctm_watch_streams", help: "Open Watch streams", registers: [this.registry] });
  readonly watchEvents = new Counter({ name: "ctm_watch_events_sent_total", help: "Events written to Watch streams", registers: [this.registry] });
  readonly validatorRejections = new Counter({ name: "ctm_validator_rejections_total", help: "Writes refused by validators", labelNames: ["validator"], registers: [this.registry] });
  readonly autoRollbacks = new Counter({ name: "ctm_auto_rollbacks_total", help: "Health check breaches acted on", labelNames: ["check", "action"], registers: [this.registry] });
  readonly accessLogDropped = new Counter({ name: "ctm_access_log_dropped_total", help: "Access records dropped because the queue was full", registers: [this.registry] });
  readonly accessLogWritten = new Counter({ name: "ctm_access_log_written_total", help: "Access records written", registers: [this.registry] });
  readonly accessLogErrors = new Counter({
    name: "ctm_access_log_errors_total",
    help: "Access log writes or retention passes that failed (e.g. a full disk); their records count as dropped",
    registers: [this.registry],
  });

  // prom-client hashes a label set on every call; an RPC's (method, code) pairs are few, so
  // each gets a recorder once: a tally increment and a histogram series on the hot path.
  private readonly rpcRecorders = new Map<string, (seconds: number) => void>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "ctm_process_" });
  }

  /** Counts one RPC and observes its latency. */
  rpc(method: string, code: string, seconds: number): void {
    this.rpcRecorder(method, code)(seconds);
  }

  /** Counts one RPC without a latency (streams, whose duration is their lifetime). */
  countRpc(method: string, code: string): void {
    this.tally(method, code).n++;
  }

  /** A function that counts one RPC of `method` ending with `code` and observes its latency. */
  rpcRecorder(method: string, code: string): (seconds: number) => void {
    const id = `${method} ${code}`;
    let record = this.rpcRecorders.get(id);
    if (record === undefined) {
      const tally = this.tally(method, code);
      const observe = this.rpcSeconds.recorder(method, code);
      record = (seconds) => {
        tally.n++;
        observe(seconds);
      };
      this.rpcRecorders.set(id, record);
    }
    return record;
  }

  private tally(method: string, code: string): RpcTally {
    const id = `${method} ${code}`;
    let t = this.rpcTallies.get(id);
    if (t === undefined) this.rpcTallies.set(id, (t = { method, code, n: 0, reported: 0 }));
    return t;
  }

  /** A gauge whose value is read at scrape time. */
  observe(name: string, help: string, read: () => number | Promise<number>): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await read());
      },
    });
  }
}
